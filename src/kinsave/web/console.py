"""The operator console (/admin): sign in with an operator API key (the home is the shop overview,
console_overview.py), then campaigns and envelopes.

The key lives in an HttpOnly, SameSite=Strict cookie scoped to /admin; every form carries the
CSRF token and a one-time form key, so a double submit creates nothing twice. Every form writes
through the request's write boundary (`api.Writes`: the API's unit of work and audit hook), so
each change is in the shop's audit log, as an API change is.
"""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kinsave.api import ReadSession, Writes
from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import EnvelopeIn
from kinsave.errors import KinsaveError
from kinsave.web.console_forms import (
    Fields,
    answer_form,
    change_and_go_back,
    denied_page,
    to_sign_in,
)
from kinsave.web.forms import campaign_from_form, parse_int, parse_yuan
from kinsave.web.paging import PAGE
from kinsave.web.rendering import render
from kinsave.web.security import (
    OPERATOR_COOKIE,
    acting_as,
    console_operator,
    form_csrf_ok,
    set_cookie,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
CONSOLE_SESSION_SECONDS = 12 * 3600


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return render(request, "admin/login.html", {})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: ReadSession,
    writes: Writes,
    api_key: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    if not form_csrf_ok(request, csrf):
        return denied_page(request)
    try:
        operator = auth.resolve_api_key(session, api_key.strip(), "operator")
    except KinsaveError:
        return render(request, "admin/login.html", {"error": True}, status_code=401)
    acting_as(request, operator)
    with writes():
        pass  # the sign-in is the change: the write boundary's audit hook records which key
    response = RedirectResponse("/admin", status_code=303)
    set_cookie(
        response,
        request,
        OPERATOR_COOKIE,
        api_key.strip(),
        max_age=CONSOLE_SESSION_SECONDS,
        path="/admin",
        same_site="strict",
    )
    return response


@router.post("/logout")
def logout(request: Request, writes: Writes, csrf: Annotated[str, Form()] = "") -> Response:
    if not form_csrf_ok(request, csrf):
        return denied_page(request)
    if console_operator(request) is not None:
        with writes():
            pass  # as the sign-in: recorded by the write boundary's audit hook
    response = to_sign_in()
    response.delete_cookie(OPERATOR_COOKIE, path="/admin")
    return response


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request, session: ReadSession, offset: int = 0) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    page = campaigns.list_campaigns(session, operator.shop_id, limit=PAGE, offset=max(offset, 0))
    return render(
        request,
        "admin/campaigns.html",
        {"page": page, "offset": offset, "limit": PAGE, "nav": "campaigns"},
    )


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request) -> Response:
    if console_operator(request) is None:
        return to_sign_in()
    return _campaign_form(request, {}, None)


def _campaign_form(request: Request, fields: Fields, problem: str | None) -> Response:
    context = {
        "fields": fields,
        "problem": problem,
        "form_key": secrets.token_hex(12),
        "nav": "campaigns",
    }
    return render(request, "admin/campaign_new.html", context, status_code=422 if problem else 200)


@router.post("/campaigns", response_class=HTMLResponse)
def create_campaign(
    request: Request,
    writes: Writes,
    name: Annotated[str, Form()] = "",
    budget: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "Asia/Shanghai",
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
    daily_min: Annotated[str, Form()] = "",
    daily_max: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    fields = {
        "name": name,
        "budget": budget,
        "timezone": timezone,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "daily_min": daily_min,
        "daily_max": daily_max,
        "form_key": form_key,
    }
    return answer_form(
        request,
        writes,
        csrf=csrf,
        form_key=form_key,
        parse=lambda: campaign_from_form(fields),
        write=lambda session, operator, data: campaigns.create_campaign(
            session, operator.shop_id, data
        ),
        refused=lambda _operator, problem: _campaign_form(request, fields, problem),
        done=lambda created: f"/admin/campaigns/{created.answer['id']}",
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_detail(
    campaign_id: str, request: Request, session: ReadSession, offset: int = 0
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    try:
        campaign = campaigns.get_campaign(session, operator.shop_id, campaign_id)
    except KinsaveError:
        return render(request, "admin/missing.html", {}, status_code=404)
    page = envelopes.list_shop_envelopes(
        session, operator.shop_id, campaign_id=campaign_id, limit=PAGE, offset=max(offset, 0)
    )
    context = {
        "campaign": campaign,
        "page": page,
        "offset": offset,
        "limit": PAGE,
        "form_key": secrets.token_hex(12),
        "nav": "campaigns",
        "problem": request.query_params.get("problem"),
    }
    return render(request, "admin/campaign.html", context)


@router.post("/campaigns/{campaign_id}/envelopes", response_class=HTMLResponse)
def send_shop_envelope(
    campaign_id: str,
    request: Request,
    writes: Writes,
    total: Annotated[str, Form()],
    shares: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "lucky",
    message: Annotated[str, Form()] = "",
) -> Response:
    back = f"/admin/campaigns/{campaign_id}"
    settings = request.app.state.settings
    return answer_form(
        request,
        writes,
        csrf=csrf,
        form_key=form_key,
        parse=lambda: EnvelopeIn(
            total=parse_yuan(total, "total"),
            shares=parse_int(shares, "shares"),
            kind="equal" if kind == "equal" else "lucky",
            message=message[:200],
        ),
        write=lambda session, operator, data: envelopes.create_campaign_envelope(
            session, settings, operator.shop_id, campaign_id, data
        ),
        refused=lambda _operator, problem: RedirectResponse(
            f"{back}?problem={problem}", status_code=303
        ),
        done=lambda _created: back,
    )


@router.post("/campaigns/{campaign_id}/status")
def set_campaign_status(
    campaign_id: str,
    request: Request,
    writes: Writes,
    status: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Pause, resume or end a campaign from its page."""
    return change_and_go_back(
        request,
        writes,
        csrf,
        lambda session, shop_id: campaigns.set_status(session, shop_id, campaign_id, status),
        back=f"/admin/campaigns/{campaign_id}",
        choice_valid=status in ("active", "paused", "ended"),
    )


@router.get("/envelopes", response_class=HTMLResponse)
def envelope_list(request: Request, session: ReadSession, offset: int = 0) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    page = envelopes.list_shop_envelopes(
        session, operator.shop_id, campaign_id=None, limit=PAGE, offset=max(offset, 0)
    )
    return render(
        request,
        "admin/envelopes.html",
        {"page": page, "offset": offset, "limit": PAGE, "nav": "envelopes"},
    )
