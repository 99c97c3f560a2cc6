"""Cookies, CSRF and the Content-Security-Policy of the pages.

Shoppers' pages keep the session token in an HttpOnly cookie (read by `auth.deps.current_shopper`
too); the console keeps the operator's API key in its own HttpOnly cookie, scoped to /admin.
Every form carries the CSRF cookie's value in a hidden field; the pages' scripts send it in the
X-Kinsave-CSRF header.
"""

import secrets

from fastapi import FastAPI, Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinsave.auth import service as auth
from kinsave.auth.deps import CSRF_COOKIE, SESSION_COOKIE, csrf_matches
from kinsave.auth.schemas import ShopperPrincipal, ShopPrincipal
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError

OPERATOR_COOKIE = "ks_operator"
PAGE_PREFIXES = ("/app", "/admin", "/store", "/lang", "/telegram/app")
# No inline script or style anywhere: everything the pages run or style comes from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def page_policy(*, form_action: str) -> str:
    """The pages' policy, with one more origin a form may lead to (a store's registered return
    URL on the store-link consent page). PageHeaders keeps a policy a page set itself."""
    if any(c in form_action for c in " ;,'\"\n"):
        raise ValueError(f"not an origin: {form_action!r}")
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {form_action}"
    )


# The share landing page (/app/s/{code}) is rendered by the sharing package with one hashed inline
# handler; it keeps the policy security.middleware gives every other HTML page.
SHARE_LANDING_PREFIX = "/app/s/"


def set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    http_only: bool = True,
    max_age: int | None = None,
    path: str = "/",
    same_site: str = "lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=http_only,
        samesite=same_site,  # type: ignore[arg-type]
        secure=request.url.scheme == "https",
    )


def csrf_token(request: Request) -> tuple[str, bool]:
    """The request's CSRF token, and whether it is new (and so must be set as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing, False
    return secrets.token_urlsafe(24), True


def set_csrf_cookie(response: Response, request: Request, token: str) -> None:
    # Readable by our own script on purpose: it copies it into the X-Kinsave-CSRF header.
    set_cookie(response, request, CSRF_COOKIE, token, http_only=False)


def form_csrf_ok(request: Request, supplied: str) -> bool:
    return csrf_matches(request, supplied)


def page_shopper(request: Request) -> ShopperPrincipal | None:
    """The shopper signed in through the page cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with unit_of_work(request.app.state.read_session_factory) as session:
            return auth.resolve_session(session, token)
    except KinsaveError:
        return None


def console_operator(request: Request) -> ShopPrincipal | None:
    """The operator signed in to the console, or None."""
    key = request.cookies.get(OPERATOR_COOKIE)
    if not key:
        return None
    try:
        with unit_of_work(request.app.state.read_session_factory) as session:
            principal = auth.resolve_api_key(session, key, "operator")
    except KinsaveError:
        return None
    acting_as(request, principal)
    return principal


def acting_as(request: Request, operator: ShopPrincipal) -> None:
    """Who this request acts for, where the API's `current_operator` puts it: the request's
    write boundary audits the change under this operator's key, and the access log names the
    shop."""
    request.state.operator = operator
    request.state.shop_id = operator.shop_id


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect to somebody else's."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def install_page_headers(app: FastAPI) -> None:
    app.add_middleware(PageHeaders)


class PageHeaders:
    """The pages' own policy on every page response (pure ASGI: BaseHTTPMiddleware's extra task
    and streams cost every API request, pages or not, a measurable share of its time)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PAGE_PREFIXES) or path.startswith(SHARE_LANDING_PREFIX):
            await self.app(scope, receive, send)
            return

        async def with_page_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_page_headers)
