"""The cart (in a cookie) and the language switch."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave_demo_store import cart as carts
from kinsave_demo_store import offers
from kinsave_demo_store.catalog import BY_SKU
from kinsave_demo_store.client import KinsaveRefused
from kinsave_demo_store.i18n import CATALOGS, LANG_COOKIE
from kinsave_demo_store.pages import (
    CART_COOKIE,
    Parts,
    back,
    render,
    safe_path,
    set_store_cookie,
    signed_in_shopper,
)

router = APIRouter()
YEAR = 365 * 24 * 3600


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request, parts: Parts) -> Response:
    lines = carts.lines(carts.read(request.cookies.get(CART_COOKIE)))
    subtotal = sum(product.price * quantity for product, quantity in lines)
    shopper = signed_in_shopper(request)
    balance = None
    if shopper and lines:  # the credit the shopper has here, read with the store key
        try:
            balance = parts.client.wallet(shopper).balance
        except KinsaveRefused:
            balance = None
    context = {
        "lines": lines,
        "subtotal": subtotal,
        "balance": balance,
        "offer": offers.remembered(request),
    }
    return render(request, "cart.html", context)


@router.post("/cart/add")
def add_to_cart(request: Request, sku: Annotated[str, Form()]) -> Response:
    cart = carts.read(request.cookies.get(CART_COOKIE))
    if sku in BY_SKU:
        cart[sku] = min(cart.get(sku, 0) + 1, carts.MAX_QUANTITY)
    response = back(request, "/cart")
    set_store_cookie(response, CART_COOKIE, carts.write(cart))
    return response


@router.post("/cart/remove")
def remove_from_cart(request: Request, sku: Annotated[str, Form()]) -> Response:
    cart = carts.read(request.cookies.get(CART_COOKIE))
    cart.pop(sku, None)
    response = back(request, "/cart")
    set_store_cookie(response, CART_COOKIE, carts.write(cart))
    return response


@router.get("/lang")
def switch_language(request: Request, to: str, next: str = "/") -> Response:
    response = back(request, safe_path(next))
    if to in CATALOGS:
        set_store_cookie(response, LANG_COOKIE, to, max_age=YEAR)
    return response
