"""How a console form writes. A posted form is checked (the operator signed in, else the sign-in
page; the CSRF token, else 403), parsed into the API's own Pydantic model, and written through
the request's write boundary (`api.Writes`: the API's unit of work and audit hook) at most once
per form key, so a double submit creates nothing twice. A refusal names the field or the error
code for the page, and nothing of it is written.
"""

import secrets
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from kinsave.api import RequestWrites
from kinsave.auth.schemas import ShopPrincipal
from kinsave.errors import KinsaveError
from kinsave.idempotency import service as idempotency
from kinsave.web.forms import FormError
from kinsave.web.rendering import render
from kinsave.web.security import console_operator, form_csrf_ok

Fields = dict[str, str]
ModelT = TypeVar("ModelT", bound=BaseModel)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


def denied_page(request: Request) -> Response:
    return render(request, "admin/denied.html", {}, status_code=403)


def form_operator(request: Request, csrf: str) -> ShopPrincipal | Response:
    """The operator posting a console form, or the answer instead: the sign-in page when nobody
    is signed in, 403 when the CSRF token does not match."""
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    if not form_csrf_ok(request, csrf):
        return denied_page(request)
    return operator


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
    operator = form_operator(request, csrf)
    if isinstance(operator, Response):
        return operator
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
        answer = run_form_once(writes, operator, form_key, data, lambda s: write(s, data))
    except FormError as error:
        raise FormRefused(error.field) from error
    except ValidationError as error:
        raise FormRefused(first_refused_field(error)) from error
    except KinsaveError as error:
        raise FormRefused(error.code) from error
    return Submitted(data, answer)


def change_and_go_back(
    request: Request,
    writes: RequestWrites,
    csrf: str,
    change: Callable[[Session, str], object],
    *,
    back: str,
    choice_valid: bool = True,
) -> Response:
    """A console button's change (pause, resume, end, resend): the form checked as any other,
    a choice outside the button's (`choice_valid` false) refused with 403, `change(session,
    shop_id)` written in the request's write boundary; then back to `back`, with a refusal's
    code as `?problem=`."""
    operator = form_operator(request, csrf)
    if isinstance(operator, Response):
        return operator
    if not choice_valid:
        return denied_page(request)
    try:
        with operator_change(writes, operator) as session:
            change(session, operator.shop_id)
    except KinsaveError as error:
        return RedirectResponse(f"{back}?problem={error.code}", status_code=303)
    return RedirectResponse(back, status_code=303)


def first_refused_field(error: ValidationError) -> str:
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


def run_form_once(
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
