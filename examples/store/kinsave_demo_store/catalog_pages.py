"""The catalog: product list with the token box, product pages with the shopper's own price, and
the ways a share comes in (a pasted token, or a link to a page with `?share=<code>`)."""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kinsave_demo_store import offers
from kinsave_demo_store.catalog import BY_SKU, PRODUCTS
from kinsave_demo_store.client import CartLine, KinsaveRefused, Quote, Target
from kinsave_demo_store.offers import TravelledOffer
from kinsave_demo_store.pages import (
    CHANNEL_COOKIE,
    Parts,
    back,
    message,
    render,
    signed_in_shopper,
)

router = APIRouter()
SHARE_CODE = re.compile(r"^[0-9A-Za-z]{11}$")
GONE = {"target_unavailable", "token_expired", "token_revoked", "token_used_up"}


@router.get("/", response_class=HTMLResponse)
def product_list(
    request: Request, parts: Parts, category: str | None = None, share: str = ""
) -> Response:
    arrived = _arrival(request, parts, share)
    if isinstance(arrived, Response):
        return arrived
    shown = [p for p in PRODUCTS if category in (None, "", p.category)]
    categories = sorted({p.category for p in PRODUCTS})
    context = {"products": shown, "categories": categories, "category": category}
    response = render(request, "list.html", {**context, "offer": arrived})
    if arrived is not None:
        offers.remember(response, arrived)
    return response


@router.get("/p/{sku}", response_class=HTMLResponse)
def product_page(request: Request, parts: Parts, sku: str, share: str = "") -> Response:
    product = BY_SKU.get(sku)
    if product is None:
        return message(request, "error.no_product", 404)
    arrived = _arrival(request, parts, share)
    if isinstance(arrived, Response):
        return arrived
    shopper = signed_in_shopper(request)
    quote: Quote | None = None
    if shopper:  # the shopper's own price: kinsave picks their best coupon for this product
        line = CartLine(sku=product.sku, quantity=1, unit_price=product.price)
        try:
            quote = parts.client.quote(shopper, [line], channel=request.cookies.get(CHANNEL_COOKIE))
        except KinsaveRefused:
            quote = None  # the list price still sells; the coupon price is a bonus
    response = render(
        request, "product.html", {"product": product, "quote": quote, "offer": arrived}
    )
    if arrived is not None:
        offers.remember(response, arrived)
    return response


def _arrival(request: Request, parts: Parts, share: str) -> TravelledOffer | Response | None:
    """The offer of the share this page was opened with: remembered when the token box already
    resolved it (each resolve uses the share once), else resolved now; a page saying why when
    the share no longer leads anywhere."""
    if not SHARE_CODE.match(share):
        return None
    known = offers.remembered(request)
    stale = known is not None and known.status == "sign_in" and signed_in_shopper(request)
    if known is not None and known.code == share and not stale:
        return known
    try:
        _resolved, offer = offers.resolve_share(parts.client, request, f"￥{share}￥")
    except KinsaveRefused as refused:
        status = 410 if refused.code in GONE else 400
        return message(request, f"error.{refused.code}", status, refused.message)
    return offer


@router.post("/token")
def paste_token(request: Request, parts: Parts, text: Annotated[str, Form()]) -> Response:
    """The password token box: kinsave says what the token points to and where the store said
    such shares land (claiming the coupon it carries for the signed-in shopper); the store keeps
    the attribution handle for the order that follows."""
    try:
        resolved, offer = offers.resolve_share(parts.client, request, text[:2000])
    except KinsaveRefused as refused:
        status = 410 if refused.code in GONE else 400
        return message(request, f"error.{refused.code}", status, refused.message)
    response: Response
    if resolved.landing_url:
        response = RedirectResponse(resolved.landing_url, status_code=303)
    else:
        response = back(request, _own_page(resolved.target, offer.code))
    offers.remember(response, offer)
    return response


def _own_page(target: Target, code: str) -> str:
    """Where a share lands when the store registered no landing template for its kind."""
    if target.type == "deal" and target.id in BY_SKU:
        return f"/p/{target.id}?share={code}"
    if target.type == "coupon":
        return f"/?share={code}"
    return "/"
