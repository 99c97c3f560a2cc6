from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from kinsave.api import Once, ReadSession
from kinsave.auth.deps import CurrentOperator, CurrentShopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.db import utcnow
from kinsave.errors import openapi_errors
from kinsave.security.deps import rate_limited_shopper
from kinsave.social import help_offers, help_requests, service
from kinsave.social.schemas import (
    CircleEnvelopeIn,
    CircleEnvelopeListOut,
    CircleOut,
    CircleSendOut,
    HelpOfferIn,
    HelpOfferOut,
    HelpOut,
    HelpRequestIn,
    HelpRequestOut,
)

router = APIRouter(prefix="/v1", tags=["circle and help requests"])
# The signed-in shopper, counted against the action's rate limit: one dependency.
HelpingShopper = Annotated[ShopperPrincipal, rate_limited_shopper("help")]
# Why a help (a help request's or a price cut's) is refused.
HELP_REFUSALS = (
    "not_found",
    "help_self_not_allowed",
    "help_already_given",
    "help_request_closed",
    "help_request_expired",
)


@router.get("/circle", response_model=CircleOut)
def get_circle(
    shopper: CurrentShopper,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CircleOut:
    """My relatives and friends, and what they recently claimed or grabbed."""
    return service.circle_view(session, shopper.shopper_id, limit=limit)


@router.post(
    "/circle/envelopes",
    response_model=CircleSendOut,
    status_code=201,
    responses=openapi_errors("not_found", "envelope_expired", "envelope_empty"),
)
def send_envelope_to_circle(
    body: CircleEnvelopeIn, shopper: CurrentShopper, once: Once
) -> JSONResponse:
    """Send my own open envelope to my family circle: my relatives see it on their home page."""
    return once(
        shopper.scope,
        lambda: service.send_envelope_to_circle(
            once.session, shopper.shopper_id, body.envelope_id, utcnow()
        ),
        body=body,
        status_code=201,
    )


@router.get("/circle/envelopes", response_model=CircleEnvelopeListOut)
def list_circle_envelopes(
    shopper: CurrentShopper,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> CircleEnvelopeListOut:
    """The open envelopes my relatives sent to the circle, newest first."""
    return service.circle_envelopes(session, shopper.shopper_id, utcnow(), limit=limit)


@router.post(
    "/admin/campaigns/{campaign_id}/help-offers", response_model=HelpOfferOut, status_code=201
)
def create_help_offer(
    campaign_id: str,
    body: HelpOfferIn,
    operator: CurrentOperator,
    once: Once,
) -> JSONResponse:
    """Ask N people to help within T hours to unlock a reward paid from this campaign's budget."""
    return once(
        operator.scope,
        lambda: help_offers.create_offer(once.session, operator.shop_id, campaign_id, body),
        body=body,
        status_code=201,
    )


@router.get("/admin/campaigns/{campaign_id}/help-offers", response_model=list[HelpOfferOut])
def list_help_offers(
    campaign_id: str, operator: CurrentOperator, session: ReadSession
) -> list[HelpOfferOut]:
    return help_offers.list_offers(session, operator.shop_id, campaign_id)


@router.post(
    "/help-requests",
    responses=openapi_errors(
        "not_found", "campaign_not_active", "help_request_already_open", "budget_exhausted"
    ),
    response_model=HelpRequestOut,
    status_code=201,
)
def start_help_request(
    body: HelpRequestIn,
    shopper: CurrentShopper,
    once: Once,
) -> JSONResponse:
    """Start asking for help; the reward is reserved from the campaign budget right away."""
    return once(
        shopper.scope,
        lambda: help_requests.start_request(once.session, body.offer_id, shopper.shopper_id),
        body=body,
        status_code=201,
    )


@router.get("/help-requests/{request_id}", response_model=HelpRequestOut)
def get_help_request(
    request_id: str, shopper: CurrentShopper, session: ReadSession
) -> HelpRequestOut:
    return help_requests.request_view(session, request_id)


@router.post(
    "/help-requests/{request_id}/help",
    responses=openapi_errors(*HELP_REFUSALS, "help_limit_reached"),
    response_model=HelpOut,
)
def help_request(
    request_id: str,
    shopper: HelpingShopper,
    once: Once,
) -> JSONResponse:
    """Help once; the help that completes the request pays its reward to the requester."""
    return once(
        shopper.scope,
        lambda: help_requests.give_help(once.session, request_id, shopper.shopper_id),
    )
