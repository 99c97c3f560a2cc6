from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kinsave.api import DbSession, IdempotencyKey, ReadSession, idempotent
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

router = APIRouter(prefix="/v1/store", tags=["store: checkout"])


@router.post("/checkout/quote", response_model=QuoteOut)
def quote(body: QuoteIn, store: CurrentStore, session: ReadSession) -> QuoteOut:
    """The shopper's best coupons plus the credit they chose, per line, with explanations."""
    return checkout.quote_checkout(session, store.shop_id, body)


@router.post("/checkout/reserve", response_model=OrderOut)
def reserve(
    body: ReserveIn,
    request: Request,
    store: CurrentStore,
    session: DbSession,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Hold the quote's coupons and credit for the order until the hold expires.

    Idempotent by order id (and by Idempotency-Key when sent)."""
    hold = request.app.state.settings.checkout_hold_seconds
    return idempotent(
        session,
        request,
        scope=store.scope,
        key=idempotency_key,
        body=body,
        operation=lambda: checkout.reserve_checkout(session, store.shop_id, body, hold),
    )


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, store: CurrentStore, session: ReadSession) -> OrderOut:
    return orders.get_order(session, store.shop_id, order_id)


@router.post("/orders/{order_id}/paid", response_model=OrderOut)
def paid(
    order_id: str,
    request: Request,
    store: CurrentStore,
    session: DbSession,
    body: PaidIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Redeem the reservation: coupons used, held credit paid to the shop."""
    data = body or PaidIn()
    return idempotent(
        session,
        request,
        scope=store.scope,
        key=idempotency_key,
        body=data,
        operation=lambda: orders.mark_order_paid(session, store.shop_id, order_id, data),
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel(
    order_id: str,
    request: Request,
    store: CurrentStore,
    session: DbSession,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Release an unpaid reservation: coupons available again, credit back to the wallet."""
    return idempotent(
        session,
        request,
        scope=store.scope,
        key=idempotency_key,
        body=None,
        operation=lambda: orders.cancel_order(session, store.shop_id, order_id),
    )


@router.post("/orders/{order_id}/refund", response_model=RefundOut)
def refund(
    order_id: str,
    request: Request,
    store: CurrentStore,
    session: DbSession,
    body: RefundIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Refund lines (or everything left): exact amounts, credit back, coupons restored."""
    data = body or RefundIn()
    return idempotent(
        session,
        request,
        scope=store.scope,
        key=idempotency_key,
        body=data,
        operation=lambda: refunds.refund_order(session, store.shop_id, order_id, data),
    )
