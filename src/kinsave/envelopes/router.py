from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kinsave.api import IdempotencyKey, Once, ReadSession, batched_or_alone
from kinsave.auth.deps import CurrentOperator, CurrentShopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.contract import operation_name
from kinsave.envelopes import daily, grabs, service
from kinsave.envelopes.schemas import (
    DailyClaimOut,
    DailyStatusOut,
    EnvelopeAuditOut,
    EnvelopeIn,
    EnvelopeOut,
    GrabOut,
    ShopperEnvelopeIn,
)
from kinsave.errors import openapi_errors
from kinsave.security.deps import rate_limited_shopper
from kinsave.storm_route import StormRoute

# A storm router (app.STORM_ROUTERS): served as its own routes, so its operationIds are named
# here as the app names the others'. StormRoute: the grab and the daily claim skip FastAPI's
# generic dependency solving when there is nothing to validate (storm_route.py); the other
# routes here get FastAPI's handler.
router = APIRouter(
    prefix="/v1",
    tags=["envelopes"],
    route_class=StormRoute,
    generate_unique_id_function=operation_name,
)
# The storm routes' one dependency: the signed-in shopper, counted against the action's limit.
GrabbingShopper = Annotated[ShopperPrincipal, rate_limited_shopper("grab")]
ClaimingShopper = Annotated[ShopperPrincipal, rate_limited_shopper("claim")]


@router.post(
    "/envelopes",
    responses=openapi_errors("invalid_amount", "insufficient_funds", "not_found"),
    response_model=EnvelopeOut,
    status_code=201,
)
def create_envelope(
    body: ShopperEnvelopeIn,
    shopper: CurrentShopper,
    once: Once,
) -> JSONResponse:
    """Send a lucky (random shares) or equal envelope, funded from your credit at one shop
    (`shop_id`); its shares land as that shop's credit."""
    settings = once.request.app.state.settings
    return once(
        shopper.scope,
        lambda: service.create_shopper_envelope(once.session, settings, shopper.shopper_id, body),
        body=body,
        status_code=201,
    )


@router.get(
    "/envelopes/{envelope_id}", responses=openapi_errors("not_found"), response_model=EnvelopeOut
)
def get_envelope(envelope_id: str, shopper: CurrentShopper, session: ReadSession) -> EnvelopeOut:
    return service.envelope_view(session, envelope_id, viewer=shopper.shopper_id)


@router.post(
    "/envelopes/{envelope_id}/grab",
    responses=openapi_errors(
        "not_found", "envelope_expired", "already_grabbed", "envelope_empty", "envelope_busy"
    ),
    response_model=GrabOut,
)
async def grab_envelope(
    envelope_id: str,
    request: Request,
    shopper: GrabbingShopper,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Grab one share. Without an Idempotency-Key the grab joins the next batch (the grab
    batcher: many grabs, one commit); with one, it runs alone so that a retry replays it."""
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key,
        batcher=request.app.state.grab_batcher,
        item=grabs.GrabRequest(envelope_id, shopper.shopper_id),
        order_key=envelope_id,
        alone=lambda session: grabs.grab_share(session, envelope_id, shopper.shopper_id),
    )


@router.post(
    "/daily/{campaign_id}/claim",
    responses=openapi_errors(
        "not_found",
        "campaign_not_active",
        "campaign_has_no_daily_envelope",
        "already_claimed_today",
        "budget_exhausted",
    ),
    response_model=DailyClaimOut,
)
async def claim_daily(
    campaign_id: str,
    request: Request,
    shopper: ClaimingShopper,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Claim today's red envelope of a campaign (once per local calendar day). Batched as a grab
    is, unless an Idempotency-Key asks for a replayable answer."""
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key,
        batcher=request.app.state.daily_batcher,
        item=daily.DailyRequest(campaign_id, shopper.shopper_id),
        order_key=campaign_id,
        alone=lambda session: daily.claim_daily(session, campaign_id, shopper.shopper_id),
    )


@router.get(
    "/daily/{campaign_id}",
    response_model=DailyStatusOut,
    responses=openapi_errors("not_found", "campaign_not_active", "campaign_has_no_daily_envelope"),
)
def daily_status(campaign_id: str, shopper: CurrentShopper, session: ReadSession) -> DailyStatusOut:
    return daily.daily_status(session, campaign_id, shopper.shopper_id)


@router.post(
    "/admin/campaigns/{campaign_id}/envelopes",
    responses=openapi_errors(
        "not_found", "invalid_amount", "budget_exhausted", "campaign_not_active"
    ),
    response_model=EnvelopeOut,
    status_code=201,
)
def create_campaign_envelope(
    campaign_id: str,
    body: EnvelopeIn,
    operator: CurrentOperator,
    once: Once,
) -> JSONResponse:
    """A shop envelope paid from the campaign's budget."""
    settings = once.request.app.state.settings
    return once(
        operator.scope,
        lambda: service.create_campaign_envelope(
            once.session, settings, operator.shop_id, campaign_id, body
        ),
        body=body,
        status_code=201,
    )


@router.get("/admin/envelopes/{envelope_id}/audit", response_model=EnvelopeAuditOut)
def audit_envelope(
    envelope_id: str, operator: CurrentOperator, session: ReadSession
) -> EnvelopeAuditOut:
    """Replay a shop envelope's split from its seed and check it against shares and escrow."""
    return service.audit_shop_envelope(session, operator.shop_id, envelope_id)
