"""Endpoints for `kinsave bench` only, mounted when KINSAVE_BENCH_ENDPOINTS=1.

- GET /v1/bench/noop: does nothing; the server's own ceiling on these settings.
- POST /v1/bench/signed-noop: signs the caller in exactly as a storm tap does, then does nothing:
  the floor of a tap (the do-nothing request plus the shopper's session).
- /v1/bench/straightforward/...: the straightforward design (bench/baseline.py) over HTTP
  (grab, daily claim, coupon claim, group join; the checkout's quote, reserve, paid and refund).
- /v1/bench/plain/coupons/claim: kinsave's coupon claim alone (one unit of work per request,
  without the Redis gate), beside the batched public route on the same server in the same run.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from kinsave.api import DbSession, Once, ReadSession, RunOnce
from kinsave.auth import service as auth
from kinsave.auth.deps import CurrentShopper, bearer_token
from kinsave.bench import baseline, baseline_checkout, group_rush
from kinsave.coupons import claims, store_writes
from kinsave.coupons.checkout_schemas import (
    PaidIn,
    QuoteIn,
    QuoteOut,
    RefundIn,
    ReserveIn,
)
from kinsave.coupons.schemas import ClaimIn
from kinsave.coupons.store_writes import StoreWrite
from kinsave.envelopes.router import GrabbingShopper
from kinsave.storm_route import StormRoute

# The do-nothing route is matched first of all (the floor it measures is FastAPI's, not a scan of
# other routes); the others after the storm routes, so that the bench's routes do not sit in front
# of the documented ones as they never do in production (app.py, `_install_routes`).
noop_router = APIRouter(prefix="/v1/bench", tags=["bench"], include_in_schema=False)
router = APIRouter(prefix="/v1/bench", tags=["bench"], include_in_schema=False)
# The signed do-nothing route: a tap's floor, so it takes the shopper as the grab does (the same
# dependency, StormRoute's short way past FastAPI's dependency solving) and is served as the
# app's own route right in front of the taps, matched as the grab is (app.py, `_install_routes`).
signed_router = APIRouter(
    prefix="/v1/bench",
    tags=["bench"],
    include_in_schema=False,
    route_class=StormRoute,
)


@noop_router.get("/noop")
async def noop() -> dict[str, bool]:
    return {"ok": True}


@signed_router.post("/signed-noop")
async def signed_noop(shopper: GrabbingShopper) -> Response:
    """The shopper signed in exactly as a grab signs them in, and nothing else: no path
    parameter, no header to look for, a fixed answer (so never heavier than a tap)."""
    return Response(b'{"ok":true}', media_type="application/json")


@router.post("/straightforward/envelopes/{envelope_id}/grab")
def straightforward_grab(
    envelope_id: str, shopper: CurrentShopper, session: DbSession
) -> dict[str, int]:
    return {"amount": baseline.grab_share(session, envelope_id, shopper.shopper_id)}


@router.post("/straightforward/daily/{campaign_id}/claim")
def straightforward_claim(
    campaign_id: str, shopper: CurrentShopper, session: DbSession
) -> dict[str, int]:
    return {"amount": baseline.claim_daily(session, campaign_id, shopper.shopper_id)}


@router.post("/straightforward/coupons/claim", status_code=201)
def straightforward_coupon_claim(
    body: ClaimIn, shopper: CurrentShopper, session: DbSession
) -> dict[str, str]:
    return {"id": baseline.claim_coupon(session, body.template_id, shopper.shopper_id)}


@router.post("/straightforward/groups/{group_id}/join")
def straightforward_group_join(
    group_id: str, shopper: CurrentShopper, session: DbSession
) -> dict[str, Any]:
    return group_rush.straightforward_join(session, group_id, shopper.shopper_id)


@router.post("/straightforward/checkout/quote")
def straightforward_quote(
    body: QuoteIn, session: ReadSession, authorization: Annotated[str | None, Header()] = None
) -> QuoteOut:
    """The checkout quote as first written: the store key read with the quote, ORM rows, models
    validated again on the way out."""
    store = auth.resolve_api_key(session, bearer_token(authorization), "store")
    return baseline_checkout.quote_checkout(session, store.shop_id, body)


def _store_once(
    once: RunOnce,
    authorization: str | None,
    action: str,
    run: Callable[[Session, str], store_writes.Answer],
    body: BaseModel,
) -> JSONResponse:
    """A straightforward checkout write as kinsave's route runs one: the store key read in the
    request's transaction (as first written), the Idempotency-Key, and the audit entry."""
    store = auth.resolve_api_key(once.session, bearer_token(authorization), "store")
    return once(
        store.scope,
        lambda: StoreWrite(store, action, lambda session: run(session, store.shop_id))(
            once.session
        ),
        body=body,
    )


@router.post("/straightforward/checkout/reserve")
def straightforward_reserve(
    body: ReserveIn, once: Once, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
    hold = once.request.app.state.settings.checkout_hold_seconds
    return _store_once(
        once,
        authorization,
        "reserve",
        lambda session, shop_id: baseline_checkout.reserve_checkout(session, shop_id, body, hold),
        body,
    )


@router.post("/straightforward/orders/{order_id}/paid")
def straightforward_paid(
    order_id: str,
    once: Once,
    body: PaidIn | None = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    data = body or PaidIn()
    return _store_once(
        once,
        authorization,
        "paid",
        lambda session, shop_id: baseline_checkout.mark_order_paid(
            session, shop_id, order_id, data
        ),
        data,
    )


@router.post("/straightforward/orders/{order_id}/refund")
def straightforward_refund(
    order_id: str,
    once: Once,
    body: RefundIn | None = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    data = body or RefundIn()
    return _store_once(
        once,
        authorization,
        "refund",
        lambda session, shop_id: baseline_checkout.refund_order(session, shop_id, order_id, data),
        data,
    )


@router.post("/plain/coupons/claim", status_code=201)
def plain_coupon_claim(body: ClaimIn, shopper: CurrentShopper, once: Once) -> JSONResponse:
    """The coupon claim alone, in the request's own transaction, without the Redis gate."""
    return once(
        shopper.scope,
        lambda: claims.claim_coupon(once.session, shopper.shopper_id, body.template_id),
        body=body,
        status_code=201,
    )
