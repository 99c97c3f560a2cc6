"""The mini app's pages (/app): phone-first, server-rendered; the buttons call the JSON API."""

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kinsave.api import DbSession, ReadSession
from kinsave.auth import service as auth
from kinsave.auth.deps import SESSION_COOKIE
from kinsave.auth.schemas import DevLoginIn, ShopperPrincipal
from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.envelopes import daily as envelope_daily
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import EnvelopeOut
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.schemas import ShopBalanceOut
from kinsave.social import service as social
from kinsave.web.rendering import render
from kinsave.web.security import form_csrf_ok, page_shopper, safe_next, set_cookie

router = APIRouter(prefix="/app", include_in_schema=False)
HISTORY_PAGE = 20


def sign_in_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/app/login?next={quote(here)}", status_code=303)


def _balances(
    session: ReadSession, shopper: ShopperPrincipal, including: str | None = None
) -> list[ShopBalanceOut]:
    """One balance per shop: credit is spendable only at the shop that issued it."""
    return ledger.wallet(session, shopper.shopper_id, including=including).balances


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    campaign_id = campaigns.running_daily_campaign(session)
    daily, daily_shop = None, None
    if campaign_id is not None:
        campaign = campaigns.find_campaign(session, campaign_id)
        daily_shop = campaign.shop_id if campaign else None
        try:
            daily = envelope_daily.daily_status(session, campaign_id, shopper.shopper_id)
        except KinsaveError:  # it ended between the two reads: show "none running"
            daily = None
    return render(
        request,
        "app/home.html",
        {
            "daily": daily,
            "daily_shop": daily_shop,
            "balances": _balances(session, shopper, including=daily_shop),
            "circle_envelopes": social.circle_envelopes(
                session, shopper.shopper_id, utcnow()
            ).envelopes,
            "nav": "home",
        },
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(
        request,
        "app/login.html",
        {"next": safe_next(next, "/app"), "dev_login": request.app.state.settings.dev_login},
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: DbSession,
    user_id: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/app",
) -> Response:
    """Dev login for the pages: the session token goes into an HttpOnly cookie."""
    settings = request.app.state.settings
    target = safe_next(next, "/app")
    context = {"next": target, "dev_login": settings.dev_login, "user_id": user_id}
    if not settings.dev_login:
        return render(request, "app/login.html", context, status_code=404)
    if not form_csrf_ok(request, csrf):
        return render(request, "app/login.html", {**context, "error": True}, status_code=403)
    try:
        data = DevLoginIn(user_id=user_id.strip(), display_name=display_name.strip() or None)
    except ValidationError:
        return render(request, "app/login.html", {**context, "error": True}, status_code=422)
    auth.ensure_shopper(session, data.user_id, data.display_name)
    token, _ = auth.start_session(
        session, data.user_id, channel="web", ttl_seconds=settings.session_ttl_seconds
    )
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=settings.session_ttl_seconds)
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, csrf: Annotated[str, Form()] = "") -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token and form_csrf_ok(request, csrf):
        auth.revoke_session(session, token)
        request.app.state.session_cache.forget(token)
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/wallet", response_class=HTMLResponse)
def wallet(
    request: Request, session: ReadSession, before: int | None = None, shop: str | None = None
) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    history = ledger.wallet_history(
        session, shopper.shopper_id, shop_id=shop, limit=HISTORY_PAGE, before=before
    )
    balances = _balances(session, shopper)
    return render(
        request,
        "app/wallet.html",
        {
            "balances": balances,
            "shop_names": {b.shop_id: b.shop_name for b in balances},
            "shop": shop,
            "entries": history.entries,
            "next_before": history.next_before,
            "paged": before is not None,
            "nav": "wallet",
        },
    )


@router.get("/send", response_class=HTMLResponse)
def send_page(request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    settings = request.app.state.settings
    return render(
        request,
        "app/send.html",
        {
            "balances": [b for b in _balances(session, shopper) if b.balance > 0],
            # The limits the service enforces (envelopes.service), named in the form's messages.
            "max_shares": settings.envelope_max_shares,
            "max_total": settings.envelope_max_total,
            "nav": "send",
        },
    )


@router.get("/e/{envelope_id}", response_class=HTMLResponse)
def envelope_page(envelope_id: str, request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        envelope = envelopes.envelope_view(session, envelope_id, viewer=shopper.shopper_id)
    except KinsaveError:
        return render(request, "app/missing.html", {}, status_code=404)
    sender = envelope.sender_shopper_id
    names = auth.display_names(session, [sender]) if sender else {}
    return render(
        request,
        "app/envelope.html",
        {
            "envelope": envelope,
            "state": envelope_state(envelope, utcnow()),
            "sender_name": names.get(sender or "", sender),
            "mine": sender == shopper.shopper_id,
            "in_circle": social.sent_to_circle(session, envelope.id),
        },
    )


def envelope_state(envelope: EnvelopeOut, now: datetime) -> str:
    """What the viewer can do: grabbed (saw their share), expired, empty, or open."""
    if envelope.my_amount is not None:
        return "grabbed"
    if envelope.status != "open" or envelope.expires_at <= now:
        return "expired"
    if envelope.remaining_shares == 0:
        return "empty"
    return "open"
