from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kinsave.api import Once, ReadSession
from kinsave.auth.deps import CurrentOperator, CurrentShopper
from kinsave.db import utcnow
from kinsave.errors import openapi_errors
from kinsave.groups.arrival import live_share_of
from kinsave.groups.router import DeviceHash, ShareCode
from kinsave.social import price_cuts
from kinsave.social.router import HELP_REFUSALS, HelpingShopper
from kinsave.social.schemas import PriceCutIn, PriceCutOfferIn, PriceCutOfferOut, PriceCutOut

router = APIRouter(prefix="/v1", tags=["price cuts"])


@router.post(
    "/admin/price-cuts",
    responses=openapi_errors("not_found", "invalid_request"),
    response_model=PriceCutOfferOut,
    status_code=201,
)
def create_price_cut_offer(
    body: PriceCutOfferIn, operator: CurrentOperator, once: Once
) -> JSONResponse:
    """Offer a product at a final price once N helpers have each cut a fixed, shown amount."""
    return once(
        operator.scope,
        lambda: price_cuts.create_offer(once.session, operator.shop_id, body),
        body=body,
        status_code=201,
    )


@router.get(
    "/price-cut-offers/{offer_id}",
    response_model=PriceCutOfferOut,
    responses=openapi_errors("not_found"),
)
def get_price_cut_offer(
    offer_id: str, shopper: CurrentShopper, session: ReadSession
) -> PriceCutOfferOut:
    """A price cut offer with its schedule: how much each helper cuts, and the final price."""
    return price_cuts.find_offer(session, offer_id)


@router.post(
    "/price-cuts",
    responses=openapi_errors("not_found", "price_cut_sold_out", "help_request_already_open"),
    response_model=PriceCutOut,
    status_code=201,
)
def start_price_cut(body: PriceCutIn, shopper: CurrentShopper, once: Once) -> JSONResponse:
    """Start asking relatives to cut the price; the schedule is fixed and shown to all."""
    return once(
        shopper.scope,
        lambda: price_cuts.start_cut(once.session, body.offer_id, shopper.shopper_id),
        body=body,
        status_code=201,
    )


@router.get(
    "/price-cuts/{cut_id}", response_model=PriceCutOut, responses=openapi_errors("not_found")
)
def get_price_cut(cut_id: str, shopper: CurrentShopper, session: ReadSession) -> PriceCutOut:
    """A price cut: its schedule, who cut how much, the price now, time left."""
    return price_cuts.cut_view(session, cut_id)


@router.post(
    "/price-cuts/{cut_id}/help",
    responses=openapi_errors(*HELP_REFUSALS),
    response_model=PriceCutOut,
)
def help_price_cut(
    cut_id: str,
    shopper: HelpingShopper,
    once: Once,
    device_hash: DeviceHash = None,
    share_code: ShareCode = None,
) -> JSONResponse:
    """Cut the price by the schedule's next amount; the last cut gives the final price. Through
    a share of this price cut (X-Share-Code), the help records it."""
    share = live_share_of(once.session, share_code, ("price_cut", cut_id), utcnow())
    return once(
        shopper.scope,
        lambda: price_cuts.help_cut(
            once.session,
            cut_id,
            shopper.shopper_id,
            device_hash=device_hash,
            via_share=share.code if share else None,
        ),
    )
