"""The operator console (/admin): sign in with an operator API key (the home is the shop overview,
console_overview.py), then campaigns and envelopes.

The key lives in an HttpOnly, SameSite=Strict cookie scoped to /admin; every form carries the
CSRF token and a one-time form key, so a double submit creates nothing twice. Every form writes
through the request's write boundary (`api.Writes`: the API's unit of work and audit hook), so
each change is in the shop's audit log, as an API change is.
"""

import secrets
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from kinsave.api import ReadSession, RequestWrites, Writes
from kinsave.auth import service as auth
from kinsave.auth.schemas import ShopPrincipal
from kinsave.campaigns import service as campaigns
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import EnvelopeIn
from kinsave.errors import KinsaveError
from kinsave.idempotency import service as idempotency
from kinsave.web.forms import FormError, campaign_from_form, parse_int, parse_yuan
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
Fields = dict[str, str]
ModelT = TypeVar("ModelT", bound=BaseModel)


def _sign_in() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


def _denied(request: Request) -> Response:
    return render(request, "admin/denied.html", {}, status_code=403)


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
        return _denied(request)
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
        return _denied(request)
    if console_operator(request) is not None:
        with writes():
            pass  # as the sign-in: recorded by the write boundary's audit hook
    response = _sign_in()
    response.delete_cookie(OPERATOR_COOKIE, path="/admin")
    return response


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request, session: ReadSession, offset: int = 0) -> Response:
    operator = console_operator(request)
    if operator is None:
        return _sign_in()
    page = campaigns.list_campaigns(session, operator.shop_id, limit=PAGE, offset=max(offset, 0))
    return render(
        request,
        "admin/campaigns.html",
        {"page": page, "offset": offset, "limit": PAGE, "nav": "campaigns"},
    )


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request) -> Response:
    if console_operator(request) is None:
        return _sign_in()
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


class FormRefused(Exception):
    """A form's change was refused and nothing was written. `problem` is the refused field's
    name (the page shows its label) or the error code (the page shows its message)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class Submitted(Generic[ModelT]):
    data: ModelT  # the form, as the API model it was parsed into
    answer: dict[str, Any]  # what the write answered (the first answer, on a double submit)


async def create_from_form(
    request: Request,
    writes: RequestWrites,
    names: Iterable[str],
    parse: Callable[[Fields], ModelT],
    create: Callable[[Session, str, ModelT], BaseModel],
    refused: Callable[[str, Fields, str], Response],
    done: str,
) -> Response:
    """A list page's create form, posted (coupon templates, group deals): its `names` read from
    the form, then `create(session, shop_id, data)` through answer_form. A refusal answers
    `refused(shop_id, fields, problem)`, the page again with what was typed; a success
    redirects to `done`."""
    form = await request.form()
    fields = {name: str(form.get(name, "")) for name in names}
    return answer_form(
        request,
        writes,
        csrf=str(form.get("csrf", "")),
        form_key=str(form.get("form_key", "")),
        parse=lambda: parse(fields),
        write=lambda session, operator, data: create(session, operator.shop_id, data),
        refused=lambda operator, problem: refused(operator.shop_id, fields, problem),
        done=lambda _created: done,
    )


def answer_form(
    request: Request,
    writes: RequestWrites,
    *,
    csrf: str,
    form_key: str,
    parse: Callable[[], ModelT],
    write: Callable[[Session, ShopPrincipal, ModelT], BaseModel],
    refused: Callable[[ShopPrincipal, str], Response],
    done: Callable[[Submitted[ModelT]], str],
) -> Response:
    """A console form posted: the operator signed in (else the sign-in page) and the CSRF token
    checked (else 403), then `write(session, operator, data)` through submit_form. A refusal
    answers `refused(operator, problem)`, the page again with what was typed; a success
    redirects to `done(submitted)`."""
    operator = console_operator(request)
    if operator is None:
        return _sign_in()
    if not form_csrf_ok(request, csrf):
        return _denied(request)
    try:
        submitted = submit_form(
            writes, operator, form_key, parse, lambda session, data: write(session, operator, data)
        )
    except FormRefused as refusal:
        return refused(operator, refusal.problem)
    return RedirectResponse(done(submitted), status_code=303)


def submit_form(
    writes: RequestWrites,
    operator: ShopPrincipal,
    form_key: str,
    parse: Callable[[], ModelT],
    write: Callable[[Session, ModelT], BaseModel],
) -> Submitted[ModelT]:
    """A console form's create: `parse` turns the typed fields into the API's Pydantic model,
    then `write` runs in the request's write boundary (`api.Writes`: unit of work and audit
    hook), at most once per form key. Raises FormRefused naming the refused field (FormError,
    or the first field pydantic refused) or the error code (KinsaveError, the write rolled
    back)."""
    try:
        data = parse()
        answer = _run_form_once(writes, operator, form_key, data, lambda s: write(s, data))
    except FormError as error:
        raise FormRefused(error.field) from error
    except ValidationError as error:
        raise FormRefused(_first_field(error)) from error
    except KinsaveError as error:
        raise FormRefused(error.code) from error
    return Submitted(data, answer)


def _first_field(error: ValidationError) -> str:
    locations = [str(p["loc"][0]) for p in error.errors() if p.get("loc")]
    return locations[0] if locations else "form"


def operator_change(
    writes: RequestWrites, operator: ShopPrincipal
) -> AbstractContextManager[Session]:
    """The request's write boundary (api.request_transaction: the API's unit of work and audit
    hook), opened for the form's change, so that a refusal rolls the change and its audit entry
    back before the page turns it into a message. A read-only key may look, never change
    (`forbidden`), as in the API."""
    if operator.access != "full":
        raise KinsaveError("forbidden", "this API key is read-only")
    return writes()


def _run_form_once(
    writes: RequestWrites,
    operator: ShopPrincipal,
    form_key: str,
    data: BaseModel,
    operation: Callable[[Session], BaseModel],
) -> dict[str, Any]:
    """The form's change in the request's write boundary, run at most once per form key (a
    double submit replays the first answer)."""
    with operator_change(writes, operator) as session:
        body, _ = idempotency.run_once(
            session,
            scope=operator.scope,
            key="form:" + (form_key or secrets.token_hex(12))[:100],
            request_hash=idempotency.fingerprint(
                "POST", writes.request.url.path, data.model_dump(mode="json")
            ),
            operation=lambda: operation(session),
        )
    return body


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_detail(
    campaign_id: str, request: Request, session: ReadSession, offset: int = 0
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return _sign_in()
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
    operator = console_operator(request)
    if operator is None:
        return _sign_in()
    if not form_csrf_ok(request, csrf) or status not in ("active", "paused", "ended"):
        return _denied(request)
    back = f"/admin/campaigns/{campaign_id}"
    try:
        with operator_change(writes, operator) as session:
            campaigns.set_status(session, operator.shop_id, campaign_id, status)
    except KinsaveError as error:
        return RedirectResponse(f"{back}?problem={error.code}", status_code=303)
    return RedirectResponse(back, status_code=303)


@router.get("/envelopes", response_class=HTMLResponse)
def envelope_list(request: Request, session: ReadSession, offset: int = 0) -> Response:
    operator = console_operator(request)
    if operator is None:
        return _sign_in()
    page = envelopes.list_shop_envelopes(
        session, operator.shop_id, campaign_id=None, limit=PAGE, offset=max(offset, 0)
    )
    return render(
        request,
        "admin/envelopes.html",
        {"page": page, "offset": offset, "limit": PAGE, "nav": "envelopes"},
    )
