"""The mini app's family pages: the circle and help requests.

Pages read through services; the buttons call the JSON API (`/v1/help-requests`, `.../help`).
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kinsave.api import ReadSession
from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.social import help_offers as offer_terms
from kinsave.social import help_requests
from kinsave.social import service as social
from kinsave.web.mini_app import sign_in_redirect
from kinsave.web.rendering import render
from kinsave.web.security import page_shopper

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/circle", response_class=HTMLResponse)
def circle(request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    view = social.circle_view(session, shopper.shopper_id)
    return render(request, "app/circle.html", {"circle": view, "nav": "circle"})


@router.get("/help", response_class=HTMLResponse)
def help_offers(request: Request, session: ReadSession) -> Response:
    """The running campaign's help offers: start a request from one."""
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    campaign_id = campaigns.running_daily_campaign(session)
    campaign = campaigns.find_campaign(session, campaign_id) if campaign_id else None
    offers = (
        offer_terms.list_offers(session, campaign.shop_id, campaign.id)
        if campaign is not None
        else []
    )
    return render(request, "app/help_offers.html", {"offers": offers, "nav": "circle"})


@router.get("/help/{request_id}", response_class=HTMLResponse)
def help_page(request_id: str, request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        view = help_requests.request_view(session, request_id)
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    now = utcnow()
    seconds_left = max(int((view.deadline_at - now).total_seconds()), 0)
    names = auth.display_names(session, [view.requester_id])
    mine = view.requester_id == shopper.shopper_id
    helped = any(h.shopper_id == shopper.shopper_id for h in view.helpers)
    return render(
        request,
        "app/help.html",
        {
            "help": view,
            "requester_name": names.get(view.requester_id, view.requester_id),
            "mine": mine,
            "helped": helped,
            "can_help": view.state == "open" and not mine and not helped,
            "shop_id": help_requests.request_shop(session, request_id) or "",
            "hours_left": seconds_left // 3600,
            "minutes_left": seconds_left % 3600 // 60,
        },
    )
