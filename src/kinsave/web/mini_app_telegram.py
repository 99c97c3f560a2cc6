"""The Mini App's entry from Telegram (/telegram/app, the URL registered with BotFather /newapp).

Telegram opens it with the launch data in the URL's fragment (`#tgWebAppData=...`), which never
reaches a server: the page's script (telegram.js, with Telegram's own telegram-web-app.js) posts
`Telegram.WebApp.initData` to /telegram/app/session. That checks its signature (a forgery is
refused and signs nobody in), sets the session cookie, and answers where the Mini App opens:
the target of the `startapp=<share code>` it was opened with, the touch recorded as this
shopper's (sharing.opening.open_in_mini_app), else the mini app's home.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from kinsave.auth import host_sign_in
from kinsave.auth.deps import SESSION_COOKIE, csrf_matches
from kinsave.auth.schemas import TelegramLoginIn
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from kinsave.security.deps import rate_limit
from kinsave.sharing import opening
from kinsave.telegram.security import mini_app_location
from kinsave.web.rendering import render
from kinsave.web.security import set_cookie

router = APIRouter(prefix="/telegram/app", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def telegram_entry(request: Request, tgWebAppStartParam: str = "") -> Response:  # noqa: N803
    """The page that signs in from the fragment's initData; outside Telegram it offers the
    share's short link (or the mini app) instead."""
    return render(request, "app/telegram.html", {"outside": mini_app_location(tgWebAppStartParam)})


@router.post("/session", dependencies=[rate_limit("login")])
def telegram_session(body: TelegramLoginIn, request: Request) -> Response:
    """Sign in from the Mini App's initData; answers {"location"} to open. Errors: forbidden
    (no CSRF header), not_found (no bot configured), init_data_invalid, init_data_expired."""
    if not csrf_matches(request):
        raise KinsaveError("forbidden", "reload the page and try again")
    settings = request.app.state.settings
    base_url = str(request.base_url).rstrip("/")
    with unit_of_work(request.app.state.session_factory) as session:
        signed_in = host_sign_in.sign_in_with_telegram(session, settings, body.init_data)
        code = host_sign_in.telegram_start_param(body.init_data)
        location = "/app"
        if code:
            location = opening.open_in_mini_app(
                session, signed_in.shopper_id, code, base_url=base_url, now=utcnow()
            )
    response = JSONResponse({"location": location, "shopper_id": signed_in.shopper_id})
    set_cookie(response, request, SESSION_COOKIE, signed_in.token, max_age=signed_in.expires_in)
    return response
