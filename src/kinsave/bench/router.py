"""Endpoints for `kinsave bench` only, mounted when KINSAVE_BENCH_ENDPOINTS=1.

- GET /v1/bench/noop: does nothing; the server's own ceiling on these settings.
- /v1/bench/straightforward/...: the straightforward design (bench/baseline.py) over HTTP
  (grab, daily claim, coupon claim, checkout quote, group join).
- /v1/bench/plain/coupons/claim: kinsave's coupon claim alone (one unit of work per request,
  without the Redis gate), beside the batched public route on the same server in the same run.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from kinsave.api import DbSession, Once, ReadSession
from kinsave.auth import service as auth
from kinsave.auth.deps import CurrentShopper, bearer_token
from kinsave.bench import baseline, group_rush
from kinsave.coupons import claims
from kinsave.coupons.checkout_schemas import QuoteIn, QuoteOut
from kinsave.coupons.schemas import ClaimIn

router = APIRouter(prefix="/v1/bench", tags=["bench"], include_in_schema=False)


@router.get("/noop")
async def noop() -> dict[str, bool]:
    return {"ok": True}


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
    return baseline.quote_checkout(session, store.shop_id, body)


@router.post("/plain/coupons/claim", status_code=201)
def plain_coupon_claim(body: ClaimIn, shopper: CurrentShopper, once: Once) -> JSONResponse:
    """The coupon claim alone, in the request's own transaction, without the Redis gate."""
    return once(
        shopper.scope,
        lambda: claims.claim_coupon(once.session, shopper.shopper_id, body.template_id),
        body=body,
        status_code=201,
    )
