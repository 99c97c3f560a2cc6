"""Switching the pages' language: a cookie that outranks Accept-Language."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from kinsave.web.i18n import CATALOGS, LANG_COOKIE
from kinsave.web.security import safe_next, set_cookie

router = APIRouter(include_in_schema=False)


@router.get("/lang")
def switch_language(request: Request, to: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(safe_next(next, "/app"), status_code=303)
    if to in CATALOGS:
        set_cookie(response, request, LANG_COOKIE, to, max_age=365 * 24 * 3600)
    return response
