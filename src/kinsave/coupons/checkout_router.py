from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kinsave.api import Once, ReadSession, RunOnce
from kinsave.auth.deps import CurrentStore
from kinsave.auth.schemas import ShopPrincipal
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
from kinsave.errors import openapi_errors
from kinsave.security import audit

router = APIRouter(prefix="/v1/store", tags=["store: checkout"])
STORE = ("unauthorized", "forbidden", "invalid_request", "invalid_amount")
CHANGE = (*STORE, "idempotency_key_reused", "idempotency_in_progress", "order_not_found")
Answer = TypeVar("Answer", OrderOut, RefundOut)


def audited(
    once: RunOnce, store: ShopPrincipal, action: str, run: Callable[[], Answer]
) -> Callable[[], Answer]:
    """The operation, recorded in the shop's audit log in its own transaction when it succeeds."""

    def operation() -> Answer:
        answer = run()
        audit.record_store_action(once.session, store, action, order=answer)
        return answer

    return operation


@router.post(
    "/checkout/quote",
    name="checkout_quote",
    response_model=QuoteOut,
    responses=openapi_errors(*STORE, "shopper_not_linked", "not_found"),
)
async def quote(body: QuoteIn, store: CurrentStore, request: Request) -> Response:
    """The shopper's best coupons plus the credit they chose, per line, with explanations, and
    the payment methods the visit's channel allows. Only for a shopper who linked this store."""
    # On the event loop, not in the thread pool: a quote is one indexed read (no lock can make
    # it wait) and then pure CPU, which a thread cannot run beside the loop anyway (the GIL).
    # The hop and the GIL's hand-offs between the loop and 32 busy threads cost more than the
    # read itself (docs/benchmarks.md, "Checkout at holiday speed"). Given the engine, the read
    # takes a pooled connection with no Session or transaction: one statement needs none.
    answer = checkout.quote_checkout_json(request.app.state.engine, store.shop_id, body)
    return Response(answer, media_type="application/json")


@router.post(
    "/checkout/reserve",
    name="checkout_reserve",
    response_model=OrderOut,
    responses=openapi_errors(
        *STORE,
        "idempotency_key_reused",
        "idempotency_in_progress",
        "shopper_not_linked",
        "not_found",
        "payment_method_not_allowed",
        "order_state_invalid",
        "coupon_expired",
        "coupon_reserved",
        "coupon_used",
        "coupon_not_applicable",
        "insufficient_funds",
    ),
)
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
        audited(
            once,
            store,
            "reserve",
            lambda: checkout.reserve_checkout(once.session, store.shop_id, body, hold),
        ),
        body=body,
    )


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, store: CurrentStore, session: ReadSession) -> OrderOut:
    return orders.get_order(session, store.shop_id, order_id)


@router.post(
    "/orders/{order_id}/paid",
    name="mark_order_paid",
    response_model=OrderOut,
    responses=openapi_errors(
        *CHANGE,
        "shopper_not_linked",
        "payment_method_not_allowed",
        "order_expired",
        "order_state_invalid",
    ),
)
def paid(
    order_id: str,
    store: CurrentStore,
    once: Once,
    body: PaidIn | None = None,
) -> JSONResponse:
    """Redeem the reservation: coupons used, held credit paid to the shop. Refused once the
    shopper unlinked the store, or for a payment method the order's channel forbids."""
    data = body or PaidIn()
    return once(
        store.scope,
        audited(
            once,
            store,
            "paid",
            lambda: orders.mark_order_paid(once.session, store.shop_id, order_id, data),
        ),
        body=data,
    )


@router.post(
    "/orders/{order_id}/cancel",
    name="cancel_order",
    response_model=OrderOut,
    responses=openapi_errors(*CHANGE, "order_state_invalid"),
)
def cancel(
    order_id: str,
    store: CurrentStore,
    once: Once,
) -> JSONResponse:
    """Release an unpaid reservation: coupons available again, credit back to the wallet.
    Allowed after the shopper unlinked the store: it gives back what the order held."""
    return once(
        store.scope,
        audited(
            once,
            store,
            "cancel",
            lambda: orders.cancel_order(once.session, store.shop_id, order_id),
        ),
    )


@router.post(
    "/orders/{order_id}/refund",
    name="refund_order",
    response_model=RefundOut,
    responses=openapi_errors(*CHANGE, "order_state_invalid"),
)
def refund(
    order_id: str,
    store: CurrentStore,
    once: Once,
    body: RefundIn | None = None,
) -> JSONResponse:
    """Refund lines (or everything left): exact amounts, credit back, coupons restored.
    Allowed after the shopper unlinked the store: it gives money back to the shopper."""
    data = body or RefundIn()
    return once(
        store.scope,
        audited(
            once,
            store,
            "refund",
            lambda: refunds.refund_order(once.session, store.shop_id, order_id, data),
        ),
        body=data,
    )
