from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kinsave.api import Once, ReadSession
from kinsave.auth.deps import CurrentStore
from kinsave.coupons import checkout, orders, refunds
from kinsave.coupons.checkout_schemas import (
    OrderOut,
    PaidIn,
    QuoteIn,
    QuoteOut,
    RefundIn,
    RefundOut,
    ReserveIn,
)
from kinsave.db import unit_of_work

router = APIRouter(prefix="/v1/store", tags=["store: checkout"])


@router.post("/checkout/quote", response_model=QuoteOut)
def quote(body: QuoteIn, store: CurrentStore, request: Request) -> Response:
    """The shopper's best coupons plus the credit they chose, per line, with explanations."""
    # One thread hop per quote: the read session is opened here rather than by a dependency
    # (a sync generator dependency costs two more), and the answer is serialised here, not
    # validated again and serialised on the event loop (docs/benchmarks.md).
    with unit_of_work(request.app.state.read_session_factory) as session:
        answer = checkout.quote_checkout_json(session, store.shop_id, body)
    return Response(answer, media_type="application/json")


@router.post("/checkout/reserve", response_model=OrderOut)
def reserve(
    body: ReserveIn,
    store: CurrentStore,
    once: Once,
) -> JSONResponse:
    """Hold the quote's coupons and credit for the order until the hold expires.

    Idempotent by order id (and by Idempotency-Key when sent)."""
    hold = once.request.app.state.settings.checkout_hold_seconds
    return once(
        store.scope,
        lambda: checkout.reserve_checkout(once.session, store.shop_id, body, hold),
        body=body,
    )


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, store: CurrentStore, session: ReadSession) -> OrderOut:
    return orders.get_order(session, store.shop_id, order_id)


@router.post("/orders/{order_id}/paid", response_model=OrderOut)
def paid(
    order_id: str,
    store: CurrentStore,
    once: Once,
    body: PaidIn | None = None,
) -> JSONResponse:
    """Redeem the reservation: coupons used, held credit paid to the shop."""
    data = body or PaidIn()
    return once(
        store.scope,
        lambda: orders.mark_order_paid(once.session, store.shop_id, order_id, data),
        body=data,
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel(
    order_id: str,
    store: CurrentStore,
    once: Once,
) -> JSONResponse:
    """Release an unpaid reservation: coupons available again, credit back to the wallet."""
    return once(
        store.scope,
        lambda: orders.cancel_order(once.session, store.shop_id, order_id),
    )


@router.post("/orders/{order_id}/refund", response_model=RefundOut)
def refund(
    order_id: str,
    store: CurrentStore,
    once: Once,
    body: RefundIn | None = None,
) -> JSONResponse:
    """Refund lines (or everything left): exact amounts, credit back, coupons restored."""
    data = body or RefundIn()
    return once(
        store.scope,
        lambda: refunds.refund_order(once.session, store.shop_id, order_id, data),
        body=data,
    )
