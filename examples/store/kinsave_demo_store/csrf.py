"""CSRF tokens on the store's forms (double submit), on top of SameSite=Strict cookies.

SameSite=Strict already keeps other sites' forms from carrying the store's cookies in modern
browsers; the token also covers older browsers and a store served next to other apps on the same
site. The token lives in an HttpOnly cookie and in a hidden field of every form; a POST whose
field does not match the cookie is refused with 403 `csrf_failed`.
"""

import hmac
import secrets

from fastapi import Request

CSRF_COOKIE = "store_csrf"
CSRF_FIELD = "csrf"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CsrfRefused(Exception):
    code = "csrf_failed"


def csrf_token(request: Request) -> tuple[str, bool]:
    """The visitor's token, and whether it is new (so the page must set the cookie)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if len(existing) >= 20:
        return existing, False
    return secrets.token_urlsafe(24), True


def tokens_match(cookie: str | None, field: str) -> bool:
    return bool(cookie) and hmac.compare_digest(str(cookie).encode(), field.encode())


async def require_csrf(request: Request) -> None:
    """Router dependency: every unsafe request carries the form field matching the cookie."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()  # Starlette caches it, so the endpoint's Form() reads it again
    if not tokens_match(request.cookies.get(CSRF_COOKIE), str(form.get(CSRF_FIELD, ""))):
        raise CsrfRefused()
