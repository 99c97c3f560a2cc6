"""The catalog: product list with the token box, product pages with the shopper's own price."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave_demo_store.catalog import BY_SKU, PRODUCTS
from kinsave_demo_store.client import KinsaveRefused
from kinsave_demo_store.pages import (
    ATTRIBUTION_COOKIE,
    CHANNEL_COOKIE,
    Parts,
    back,
    message,
    render,
    set_store_cookie,
    signed_in_shopper,
)

router = APIRouter()
ATTRIBUTION_SECONDS = 7 * 24 * 3600


@router.get("/", response_class=HTMLResponse)
def product_list(request: Request, category: str | None = None) -> Response:
    shown = [p for p in PRODUCTS if category in (None, "", p.category)]
    categories = sorted({p.category for p in PRODUCTS})
    context = {"products": shown, "categories": categories, "category": category}
    return render(request, "list.html", context)


@router.get("/p/{sku}", response_class=HTMLResponse)
def product_page(request: Request, parts: Parts, sku: str, shared: str = "") -> Response:
    product = BY_SKU.get(sku)
    if product is None:
        return message(request, "error.no_product", 404)
    shopper = signed_in_shopper(request)
    quote = None
    if shopper:  # the shopper's own price: kinsave picks their best coupon for this product
        line = {"sku": product.sku, "quantity": 1, "unit_price": product.price}
        try:
            quote = parts.client.quote(shopper, [line], channel=request.cookies.get(CHANNEL_COOKIE))
        except KinsaveRefused:
            quote = None  # the list price still sells; the coupon price is a bonus
    context = {"product": product, "quote": quote, "shared": shared == "1"}
    return render(request, "product.html", context)


@router.post("/token")
def paste_token(request: Request, parts: Parts, text: Annotated[str, Form()]) -> Response:
    """The password token box: kinsave says what the token points to; the store keeps the
    attribution handle for the order that follows."""
    try:
        resolved = parts.client.resolve_token(text[:2000], signed_in_shopper(request))
    except KinsaveRefused as refused:
        return message(request, f"error.{refused.code}", 400, refused.message)
    target = resolved.get("target", {})
    sku = str(target.get("id", ""))
    path = f"/p/{sku}?shared=1" if target.get("type") == "deal" and sku in BY_SKU else "/"
    response = back(request, path)
    attribution = str(resolved.get("attribution", ""))
    set_store_cookie(response, ATTRIBUTION_COOKIE, attribution, max_age=ATTRIBUTION_SECONDS)
    channel = str(resolved.get("channel", ""))  # what the share's host allows at checkout
    set_store_cookie(response, CHANNEL_COOKIE, channel, max_age=ATTRIBUTION_SECONDS)
    return response
