"""A share opened inside the mini app (`/app/open/{code}`: the path a mini-app card or deep link
carries): the open is counted under the signed-in shopper, who lands on the share's target.

Counting it under the shopper is what lets the funnel see the grab of a shared envelope, the
help given, or an order that follows, as reached through this share.
"""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kinsave.api import DbSession
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.security.deps import GuardShareCodes
from kinsave.sharing import opening
from kinsave.web.mini_app import sign_in_redirect
from kinsave.web.rendering import render
from kinsave.web.security import page_shopper

router = APIRouter(prefix="/app", include_in_schema=False)

TARGET_PAGES = {
    "envelope": "/app/e/{id}",
    "help": "/app/help/{id}",
    "deal": "/app/deals",
    "coupon": "/app/coupons",
    # The share's code rides along: the join or help that follows is attributed to it.
    "group": "/app/groups/{id}?share={code}",
    "price_cut": "/app/price-cuts/{id}?share={code}",
}


@router.get("/open/{code}", response_class=HTMLResponse, dependencies=[GuardShareCodes])
def open_share(code: str, request: Request, session: DbSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        accepted = opening.accept_share(
            session, shopper.shopper_id, code, device_hash=None, now=utcnow()
        )
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    page = TARGET_PAGES.get(accepted.target.type, "/app").format(
        id=quote(accepted.target.id, safe=""), code=accepted.code
    )
    return RedirectResponse(page, status_code=303)
