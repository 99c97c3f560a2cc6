"""The mini app's shopping pages: the coupon center, deals after coupon, and the share sheet.

Pages read through services; the buttons call the JSON API (`/v1/coupons/claim`, `/v1/shares`).
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kinsave.api import ReadSession
from kinsave.campaigns import service as campaigns
from kinsave.coupons import deals
from kinsave.coupons import service as coupons
from kinsave.errors import KinsaveError
from kinsave.sharing import channels
from kinsave.web.mini_app import sign_in_redirect
from kinsave.web.rendering import render
from kinsave.web.security import page_shopper

router = APIRouter(prefix="/app", include_in_schema=False)
DEALS_PAGE = 20
SHARE_TARGETS = ("deal", "coupon", "envelope", "help", "group", "price_cut")


@router.get("/coupons", response_class=HTMLResponse)
def coupon_center(request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    center = coupons.coupon_center(session, shopper.shopper_id)
    mine = coupons.my_coupons(session, shopper.shopper_id)
    return render(
        request,
        "app/coupons.html",
        {"center": center.templates, "mine": mine.coupons, "nav": "coupons"},
    )


@router.get("/deals", response_class=HTMLResponse)
def deal_list(
    request: Request, session: ReadSession, category: str | None = None, offset: int = 0
) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    page = deals.list_deals(
        session,
        shopper.shopper_id,
        category=category or None,
        limit=DEALS_PAGE,
        offset=max(offset, 0),
    )
    next_offset = page.offset + page.limit if page.offset + page.limit < page.total else None
    return render(
        request,
        "app/deals.html",
        {
            "page": page,
            "category": category or "",
            "offset": page.offset,
            "limit": page.limit,
            "next_offset": next_offset,
            "nav": "deals",
        },
    )


@router.get("/share", response_class=HTMLResponse)
def share_sheet(
    request: Request,
    session: ReadSession,
    type: str = "deal",
    id: str = "",
    shop: str = "",
    title: str = "",
) -> Response:
    """Pick a channel; the page then asks `POST /v1/shares` for what that channel allows."""
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    if type not in SHARE_TARGETS or not id:
        return render(request, "app/missing.html", {}, status_code=404)
    campaign_id = campaigns.running_daily_campaign(session)
    campaign = campaigns.find_campaign(session, campaign_id) if campaign_id else None
    shop_id = shop or (campaign.shop_id if campaign else "")
    if campaign is not None and shop and campaign.shop_id != shop:
        campaign_id = None  # the running campaign is another shop's: share without one
    try:
        names = channels.channel_names(session, shop_id) if shop_id else []
    except KinsaveError:
        names = []
    return render(
        request,
        "app/share.html",
        {
            "target_type": type,
            "target_id": id,
            "title": title[:100],
            "shop_id": shop_id,
            "campaign_id": campaign_id or "",
            "channels": names,
        },
    )
