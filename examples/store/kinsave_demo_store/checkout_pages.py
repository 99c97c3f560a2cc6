"""Checkout: quote, then reserve -> (the store takes the payment) -> paid, as a real store does.

The quote names the payment methods the visit's channel allows (the channel of the share that
brought the shopper, else the web); the checkout page offers only those, and the order is
reported paid with the one chosen. "wallet" is not a choice here: it is the credit line.
"""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave_demo_store import cart as carts
from kinsave_demo_store.client import KinsaveRefused, Quote
from kinsave_demo_store.offers import OFFER_COOKIE
from kinsave_demo_store.orders import Order, OrderBook
from kinsave_demo_store.pages import (
    ATTRIBUTION_COOKIE,
    CART_COOKIE,
    CHANNEL_COOKIE,
    Parts,
    back,
    message,
    render,
    signed_in_shopper,
    signed_out,
)

router = APIRouter(prefix="/checkout")
CREDIT = "wallet"


YUAN = re.compile(r"^\s*(\d{1,10})(?:\.(\d{1,2}))?\s*$")


def credit_asked(use_credit: str) -> int | None:
    """Typed yuan ('2.5') as fen (250), read as text; blank is 0; None when not yuan."""
    if not use_credit.strip():
        return 0
    match = YUAN.match(use_credit)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


def pay_methods(quote: Quote) -> list[str]:
    """What the shopper may pay the rest with: the channel's methods but the wallet credit."""
    return [m for m in quote.payment_methods if m != CREDIT]


def refusal(request: Request, refused: KinsaveRefused) -> Response:
    if refused.code == "shopper_not_linked":  # unlinked in the mini app: sign in (link) again
        return signed_out(back(request, "/signin?error=unlinked&next=/cart"))
    return message(request, f"error.{refused.code}", 400, refused.message)


@router.post("/quote", response_class=HTMLResponse)
def checkout_quote(
    request: Request,
    parts: Parts,
    use_credit: Annotated[str, Form()] = "0",
    use_all_credit: Annotated[str, Form()] = "",
) -> Response:
    shopper = signed_in_shopper(request)
    if not shopper:
        return back(request, "/signin?next=/cart")
    # "Use all ¥x.xx" carries the balance the cart showed (fen from kinsave, not typed).
    credit = int(use_all_credit) if use_all_credit.isdigit() else credit_asked(use_credit)
    if credit is None:
        return message(request, "error.credit_not_yuan", 400)
    cart = carts.read(request.cookies.get(CART_COOKIE))
    try:
        quote = parts.client.quote(
            shopper,
            carts.quote_lines(cart),
            use_credit=credit,
            channel=request.cookies.get(CHANNEL_COOKIE),
        )
    except KinsaveRefused as refused:
        return refusal(request, refused)
    context = {"quote": quote, "order_id": OrderBook.new_id(), "methods": pay_methods(quote)}
    return render(request, "quote.html", context)


@router.post("/pay")
def checkout_pay(
    request: Request,
    parts: Parts,
    order_id: Annotated[str, Form()],
    credit: Annotated[str, Form()] = "0",
    payment_method: Annotated[str, Form()] = "",
) -> Response:
    """quote -> reserve -> (the store takes the payment) -> paid. The order id comes from the
    quote page, so a second tap on Pay reserves and pays the same order, not a new one."""
    shopper = signed_in_shopper(request)
    if not shopper:
        return back(request, "/signin?next=/cart")
    lines = carts.quote_lines(carts.read(request.cookies.get(CART_COOKIE)))
    if not lines:
        return back(request, "/cart")
    attribution = request.cookies.get(ATTRIBUTION_COOKIE) or None
    channel = request.cookies.get(CHANNEL_COOKIE)
    try:
        quote = parts.client.quote(
            shopper, lines, use_credit=int(credit) if credit.isdigit() else 0, channel=channel
        )
        method = payment_method or None
        if quote.total_to_pay and method not in pay_methods(quote):
            return message(request, "error.payment_method_not_allowed", 400)
        parts.client.reserve(order_id, shopper, lines, quote)
        # Here a real store charges quote.total_to_pay with `method`; then it tells kinsave.
        order = parts.client.paid(order_id, attribution, method if quote.total_to_pay else None)
    except KinsaveRefused as refused:
        return refusal(request, refused)
    parts.orders.add(
        Order(
            id=order_id,
            shopper_id=shopper,
            lines=[line.model_dump() for line in lines],
            total_to_pay=order.total_to_pay,
            discount=order.discount + order.shipping_discount,
            credit_used=order.credit,
        )
    )
    response = back(request, "/orders")
    response.delete_cookie(CART_COOKIE)
    response.delete_cookie(ATTRIBUTION_COOKIE)
    response.delete_cookie(CHANNEL_COOKIE)
    response.delete_cookie(OFFER_COOKIE)
    return response
