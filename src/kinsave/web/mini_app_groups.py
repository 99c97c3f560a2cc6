"""The mini app's group deal and price cut pages: the price, how many are still needed and the
time left come first (hosts' sharing rules require them; lint checks it per channel).

Pages read through services; the buttons call the JSON API (groups.js).
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kinsave.api import ReadSession
from kinsave.auth import service as auth
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import service as group_deals
from kinsave.groups import views
from kinsave.sharing.terms_copy import ShareTerms
from kinsave.social import price_cuts
from kinsave.web.mini_app import sign_in_redirect
from kinsave.web.rendering import render
from kinsave.web.security import page_shopper

router = APIRouter(prefix="/app", include_in_schema=False)


def _hours_minutes(seconds: int) -> tuple[int, int]:
    return seconds // 3600, seconds % 3600 // 60


@router.get("/group-deals/{deal_id}", response_class=HTMLResponse)
def group_deal_page(deal_id: str, request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        deal = group_deals.public_deal(session, deal_id, shopper.shopper_id)
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    return render(request, "app/group_deal.html", {"deal": deal, "nav": "deals"})


@router.get("/groups", response_class=HTMLResponse)
def my_groups_page(request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    view = views.my_groups(session, shopper.shopper_id)
    return render(request, "app/groups.html", {"groups": view.groups, "nav": "deals"})


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(group_id: str, request: Request, session: ReadSession, share: str = "") -> Response:
    """`share`: the code of the share that led here (/app/open), sent along with the join."""
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        group = views.group_view(session, group_id, shopper.shopper_id)
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    member = any(m.shopper_id == shopper.shopper_id for m in group.members)
    hours, minutes = _hours_minutes(group.seconds_left)
    # A closed group (a share often outlives it) leads on to a new group of the same deal.
    deal = (
        None
        if group.status == "forming"
        else group_deals.public_deal(session, group.deal_id, shopper.shopper_id)
    )
    context = {
        "deal": deal,
        "group": group,
        "member": member,
        "can_join": group.status == "forming" and not member,
        "hours_left": hours,
        "minutes_left": minutes,
        "starter_name": group.members[0].display_name if group.members else "",
        # The page's title, what a host's share of the page shows: the terms first.
        "terms": ShareTerms(
            "group",
            group.title,
            group.group_price,
            group.needed,
            group.seconds_left,
            group.status == "forming",
        ),
        "via_share": share[:40],
        "nav": "deals",
    }
    return render(request, "app/group.html", context)


@router.get("/price-cuts/{cut_id}", response_class=HTMLResponse)
def price_cut_page(
    cut_id: str, request: Request, session: ReadSession, share: str = ""
) -> Response:
    """`share`: the code of the share that led here (/app/open), sent along with the help."""
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        cut = price_cuts.cut_view(session, cut_id)
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    mine = cut.requester_id == shopper.shopper_id
    helped = any(h.shopper_id == shopper.shopper_id for h in cut.helpers)
    seconds = max(0, int((cut.deadline_at - utcnow()).total_seconds()))
    hours, minutes = _hours_minutes(seconds)
    names = auth.display_names(session, [cut.requester_id])
    context = {
        "cut": cut,
        "mine": mine,
        "helped": helped,
        "can_help": cut.state == "open" and not mine and not helped,
        "requester_name": names.get(cut.requester_id, cut.requester_id),
        "terms": ShareTerms(
            "price_cut",
            cut.title,
            cut.final_price,
            cut.helpers_remaining,
            seconds,
            cut.state == "open",
        ),
        "via_share": share[:40],
        "hours_left": hours,
        "minutes_left": minutes,
        "nav": "circle",
    }
    return render(request, "app/price_cut.html", context)


@router.get("/price-cut-offers/{offer_id}", response_class=HTMLResponse)
def price_cut_offer_page(offer_id: str, request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        offer = price_cuts.find_offer(session, offer_id)
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    return render(request, "app/price_cut_offer.html", {"offer": offer, "nav": "circle"})
