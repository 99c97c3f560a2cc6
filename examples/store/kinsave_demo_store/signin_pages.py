"""Sign-in through kinsave ("用亲友省钱购登录"), OAuth-authorization-code style, and sign-out.

1. The button posts to /signin/start: the store's server registers its callback with kinsave
   (`POST /v1/store/link-requests`, with the store key) and a random `state` it also keeps in a
   cookie, then sends the browser to the answer's `authorize_url` (the mini app's consent page).
2. The shopper agrees in the mini app; kinsave sends the browser back to /signin/callback with
   `code` and `state` (or `error=access_denied`).
3. The callback checks `state` against the cookie (so nobody can sign a visitor in as someone
   else), exchanges the code with the store key (`POST /v1/store/links`) for the shopper id, and
   keeps that id in the store's signed session cookie.
"""

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kinsave_demo_store.client import KinsaveRefused
from kinsave_demo_store.pages import (
    Parts,
    back,
    message,
    render,
    root,
    safe_path,
    set_store_cookie,
    signed_in_shopper,
)
from kinsave_demo_store.session import SHOPPER_COOKIE, sign

router = APIRouter()
STATE_COOKIE = "store_link_state"
STATE_SECONDS = 10 * 60  # as long as kinsave keeps the link request
SESSION_SECONDS = 30 * 24 * 3600
# The store's pages allow forms to post only to the store; the sign-in form's answer redirects to
# kinsave's consent page, so that one page also allows kinsave's origin (CSP form-action applies
# to a form's redirects too).
SIGNIN_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self' {kinsave}; frame-ancestors 'none'"
)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, parts: Parts, next: str = "/cart", error: str = "") -> Response:
    context = {"next": safe_path(next), "error": error}
    response = render(request, "signin.html", context)
    api = urlsplit(parts.client.api_url)
    kinsave = f"{api.scheme}://{api.netloc}"
    response.headers["Content-Security-Policy"] = SIGNIN_POLICY.format(kinsave=kinsave)
    return response


@router.post("/signin/start")
def start_signin(
    request: Request, parts: Parts, next: Annotated[str, Form()] = "/cart"
) -> Response:
    state = secrets.token_urlsafe(24)
    callback = f"{request.url.scheme}://{request.url.netloc}{root(request)}/signin/callback"
    try:
        started = parts.client.link_request(callback, state)
    except KinsaveRefused as refused:
        return message(request, f"error.{refused.code}", 502, refused.message)
    response = RedirectResponse(started.authorize_url, status_code=303)
    # Lax, not Strict: the browser comes back from kinsave's site, a cross-site navigation.
    response.set_cookie(
        STATE_COOKIE,
        f"{state}|{safe_path(next)}",
        max_age=STATE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/signin/callback")
def signin_callback(
    request: Request, parts: Parts, state: str = "", code: str = "", error: str = ""
) -> Response:
    expected, _, next_path = request.cookies.get(STATE_COOKIE, "").partition("|")
    if not expected or not hmac.compare_digest(expected.encode(), state.encode()):
        return message(request, "error.signin_state", 400)
    if error or not code:
        response = back(request, "/signin?error=access_denied")
    else:
        try:
            linked = parts.client.exchange_link_code(code)
        except KinsaveRefused as refused:
            return message(request, f"error.{refused.code}", 400, refused.message)
        response = back(request, safe_path(next_path))
        cookie = sign(parts.session_key, linked.shopper_id)
        set_store_cookie(response, SHOPPER_COOKIE, cookie, max_age=SESSION_SECONDS, lax=True)
    response.delete_cookie(STATE_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    response = back(request, "/")
    if signed_in_shopper(request):
        response.delete_cookie(SHOPPER_COOKIE)
    return response
