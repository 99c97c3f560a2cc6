from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kinsave.api import (
    IdempotencyKey,
    ReadSession,
    batched_or_alone,
    body_documented,
    json_body,
)
from kinsave.auth.deps import CurrentStore
from kinsave.auth.schemas import ShopPrincipal
from kinsave.contract import operation_name
from kinsave.coupons import checkout, order_reads, orders, refunds
from kinsave.coupons.checkout_schemas import (
    OrderOut,
    PaidIn,
    QuoteIn,
    QuoteOut,
    RefundIn,
    RefundOut,
    ReserveIn,
)
from kinsave.coupons.store_writes import StoreWrite
from kinsave.errors import openapi_errors
from kinsave.storm_route import StormRoute

# A storm router (app.STORM_ROUTERS): served as its own routes, its operationIds named here.
# StormRoute: the quote skips FastAPI's generic dependency solving (storm_route.py); the other
# routes here have a body or a header to validate, or run in the thread pool: FastAPI's own.
router = APIRouter(
    prefix="/v1/store",
    tags=["store: checkout"],
    generate_unique_id_function=operation_name,
    route_class=StormRoute,
)
STORE = ("unauthorized", "forbidden", "invalid_request", "invalid_amount")
CHANGE = (*STORE, "idempotency_key_reused", "idempotency_in_progress", "order_not_found")


@router.post(
    "/checkout/quote",
    name="checkout_quote",
    response_model=QuoteOut,
    responses=openapi_errors(*STORE, "shopper_not_linked", "not_found"),
    openapi_extra=body_documented(QuoteIn),
)
async def quote(store: CurrentStore, request: Request) -> Response:
    """The shopper's best coupons plus the credit they chose, per line, with explanations, and
    the payment methods the visit's channel allows. Only for a shopper who linked this store."""
    # On the event loop, not in the thread pool: a quote is one indexed read (no lock can make
    # it wait) and then pure CPU, which a thread cannot run beside the loop anyway (the GIL).
    # The hop and the GIL's hand-offs between the loop and 32 busy threads cost more than the
    # read itself (docs/benchmarks.md, "Checkout at holiday speed"). The read takes a connection
    # with no Session or transaction (one statement needs none); on PostgreSQL it is awaited
    # (app.state.awaited_reads, decision 47), so the loop serves others meanwhile.
    body = await json_body(request, QuoteIn)
    state = request.app.state
    answer = await checkout.quote_checkout_awaited(
        state.single_read_engine, state.awaited_reads, store.shop_id, body
    )
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
async def reserve(
    body: ReserveIn, store: CurrentStore, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Hold the quote's coupons and credit for the order until the hold expires.

    Idempotent by order id (and by Idempotency-Key when sent)."""
    hold = request.app.state.settings.checkout_hold_seconds
    return await _write(
        request,
        store,
        idempotency_key,
        body,
        StoreWrite(
            store,
            "reserve",
            lambda session: checkout.reserve_checkout(session, store.shop_id, body, hold),
        ),
    )


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, store: CurrentStore, session: ReadSession) -> OrderOut:
    return order_reads.get_order(session, store.shop_id, order_id)


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
async def paid(
    order_id: str,
    store: CurrentStore,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    body: PaidIn | None = None,
) -> Response:
    """Redeem the reservation: coupons used, held credit paid to the shop. Refused once the
    shopper unlinked the store, or for a payment method the order's channel forbids."""
    data = body or PaidIn()
    return await _write(
        request,
        store,
        idempotency_key,
        data,
        StoreWrite(
            store,
            "paid",
            lambda session: orders.mark_order_paid(session, store.shop_id, order_id, data),
        ),
    )


@router.post(
    "/orders/{order_id}/cancel",
    name="cancel_order",
    response_model=OrderOut,
    responses=openapi_errors(*CHANGE, "order_state_invalid"),
)
async def cancel(
    order_id: str, store: CurrentStore, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Release an unpaid reservation: coupons available again, credit back to the wallet.
    Allowed after the shopper unlinked the store: it gives back what the order held."""
    return await _write(
        request,
        store,
        idempotency_key,
        None,
        StoreWrite(
            store,
            "cancel",
            lambda session: orders.cancel_order(session, store.shop_id, order_id),
        ),
    )


@router.post(
    "/orders/{order_id}/refund",
    name="refund_order",
    response_model=RefundOut,
    responses=openapi_errors(*CHANGE, "order_state_invalid"),
)
async def refund(
    order_id: str,
    store: CurrentStore,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    body: RefundIn | None = None,
) -> Response:
    """Refund lines (or everything left): exact amounts, credit back, coupons restored.
    Allowed after the shopper unlinked the store: it gives money back to the shopper."""
    data = body or RefundIn()
    return await _write(
        request,
        store,
        idempotency_key,
        data,
        StoreWrite(
            store,
            "refund",
            lambda session: refunds.refund_order(session, store.shop_id, order_id, data),
        ),
    )


async def _write(
    request: Request,
    store: ShopPrincipal,
    key: str | None,
    body: BaseModel | None,
    write: StoreWrite,
) -> Response:
    """A checkout write through the checkout batcher (coupons/store_writes.py: many writes, one
    commit), or, under an Idempotency-Key, alone in its own transaction so a retry replays it."""
    return await batched_or_alone(
        request,
        scope=store.scope,
        key=key,
        batcher=request.app.state.checkout_batcher,
        item=write,
        order_key=store.shop_id,  # a shop's writes share its SHOP_REDEEMED row: one lane
        alone=write,
        body=body,
    )
