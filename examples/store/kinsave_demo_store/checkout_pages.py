"""Checkout: quote, then reserve -> (the store takes the payment) -> paid, as a real store does."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave_demo_store import cart as carts
from kinsave_demo_store.client import KinsaveRefused
from kinsave_demo_store.offers import OFFER_COOKIE
from kinsave_demo_store.orders import Order, OrderBook
from kinsave_demo_store.pages import (
    ATTRIBUTION_COOKIE,
    CART_COOKIE,
    Parts,
    back,
    message,
    render,
    signed_in_shopper,
)

router = APIRouter(prefix="/checkout")


def credit_asked(use_credit: str) -> int:
    return int(use_credit) if use_credit.isdigit() else 0


@router.post("/quote", response_class=HTMLResponse)
def checkout_quote(
    request: Request, parts: Parts, use_credit: Annotated[str, Form()] = "0"
) -> Response:
    shopper = signed_in_shopper(request)
    if not shopper:
        return back(request, "/signin")
    cart = carts.read(request.cookies.get(CART_COOKIE))
    try:
        quote = parts.client.quote(
            shopper, carts.quote_lines(cart), use_credit=credit_asked(use_credit)
        )
    except KinsaveRefused as refused:
        return message(request, f"error.{refused.code}", 400, refused.message)
    return render(request, "quote.html", {"quote": quote, "order_id": OrderBook.new_id()})


@router.post("/pay")
def checkout_pay(
    request: Request,
    parts: Parts,
    order_id: Annotated[str, Form()],
    use_credit: Annotated[str, Form()] = "0",
) -> Response:
    """quote -> reserve -> (the store takes the payment) -> paid. The order id comes from the
    quote page, so a second tap on Pay reserves and pays the same order, not a new one."""
    shopper = signed_in_shopper(request)
    if not shopper:
        return back(request, "/signin")
    lines = carts.quote_lines(carts.read(request.cookies.get(CART_COOKIE)))
    if not lines:
        return back(request, "/cart")
    attribution = request.cookies.get(ATTRIBUTION_COOKIE) or None
    try:
        quote = parts.client.quote(shopper, lines, use_credit=credit_asked(use_credit))
        parts.client.reserve(order_id, shopper, lines, quote)
        # Here a real store charges quote["total_to_pay"]; then it tells kinsave.
        order = parts.client.paid(order_id, attribution)
    except KinsaveRefused as refused:
        return message(request, f"error.{refused.code}", 400, refused.message)
    parts.orders.add(
        Order(
            id=order_id,
            shopper_id=shopper,
            lines=lines,
            total_to_pay=int(order["total_to_pay"]),
            discount=int(order["discount"]) + int(order["shipping_discount"]),
            credit_used=int(order["credit"]),
        )
    )
    response = back(request, "/orders")
    response.delete_cookie(CART_COOKIE)
    response.delete_cookie(ATTRIBUTION_COOKIE)
    response.delete_cookie(OFFER_COOKIE)
    return response
