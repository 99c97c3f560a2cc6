"""The cart (in a cookie), sign-in and the language switch."""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave_demo_store import cart as carts
from kinsave_demo_store import offers
from kinsave_demo_store.catalog import BY_SKU
from kinsave_demo_store.i18n import CATALOGS, LANG_COOKIE
from kinsave_demo_store.pages import (
    CART_COOKIE,
    SHOPPER_COOKIE,
    back,
    render,
    set_store_cookie,
)

router = APIRouter()
SHOPPER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
YEAR = 365 * 24 * 3600


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request) -> Response:
    lines = carts.lines(carts.read(request.cookies.get(CART_COOKIE)))
    subtotal = sum(product.price * quantity for product, quantity in lines)
    context = {"lines": lines, "subtotal": subtotal, "offer": offers.remembered(request)}
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


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> Response:
    return render(request, "signin.html", {})


@router.post("/signin")
def signin(request: Request, shopper_id: Annotated[str, Form()]) -> Response:
    if not SHOPPER_ID.match(shopper_id.strip()):
        return render(request, "signin.html", {"error": True}, 422)
    response = back(request, "/cart")
    set_store_cookie(response, SHOPPER_COOKIE, shopper_id.strip())
    return response


@router.get("/lang")
def switch_language(request: Request, to: str, next: str = "/") -> Response:
    # Only a path inside the store: "//evil.example" or a full URL would be an open redirect.
    path = next if next.startswith("/") and not next.startswith("//") else "/"
    response = back(request, path)
    if to in CATALOGS:
        set_store_cookie(response, LANG_COOKIE, to, max_age=YEAR)
    return response
