"""My orders (from the store's own file), the events kinsave sent about them, and refunds."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kinsave_demo_store.client import KinsaveRefused
from kinsave_demo_store.pages import Parts, back, message, render, signed_in_shopper

router = APIRouter(prefix="/orders")


@router.get("", response_class=HTMLResponse)
def my_orders(request: Request, parts: Parts) -> Response:
    shopper = signed_in_shopper(request)
    if not shopper:
        return back(request, "/signin?next=/orders")
    context = {"orders": parts.orders.of(shopper), "events": parts.inbox.recent_of(shopper)}
    return render(request, "orders.html", context)


@router.post("/{order_id}/refund")
def refund(request: Request, parts: Parts, order_id: str) -> Response:
    """Refund what is left of the order: cash from the store, credit and coupons back."""
    order = parts.orders.get(order_id)
    if order is None or order.shopper_id != signed_in_shopper(request):
        return message(request, "error.no_order", 404)
    try:
        refunded = parts.client.refund(order_id)
    except KinsaveRefused as refused:
        return message(request, f"error.{refused.code}", 400, refused.message)
    parts.orders.mark_refunded(order_id, refunded.amount, refunded.credit_returned)
    return back(request, "/orders")
