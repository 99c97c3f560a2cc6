"""The console's webhooks: endpoints (the signing secret shown once, at creation) and the
delivery log (paginated by id) with re-send."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from kinsave.api import ReadSession, Writes
from kinsave.errors import KinsaveError
from kinsave.web.console_forms import (
    change_and_go_back,
    form_operator,
    run_form_once,
    to_sign_in,
)
from kinsave.web.forms import split_list
from kinsave.web.paging import page_of
from kinsave.web.rendering import render
from kinsave.web.security import console_operator
from kinsave.webhooks import service as webhooks
from kinsave.webhooks.schemas import WebhookEndpointIn

router = APIRouter(prefix="/admin/webhooks", include_in_schema=False)
DELIVERIES_PAGE = 20


@router.get("", response_class=HTMLResponse)
def webhook_page(
    request: Request,
    session: ReadSession,
    before: int | None = None,
    problem: str | None = None,
    offset: int = 0,
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    return _page(request, session, operator.shop_id, before, problem=problem, offset=offset)


def _page(
    request: Request,
    session: ReadSession,
    shop_id: str,
    before: int | None,
    *,
    problem: str | None = None,
    created: dict[str, object] | None = None,
    url: str = "",
    offset: int = 0,
) -> Response:
    endpoints = page_of(webhooks.list_endpoints(session, shop_id).endpoints, offset)
    context = {
        "endpoints": endpoints.items,
        "offset": endpoints.offset,
        "limit": endpoints.limit,
        "next_offset": endpoints.next_offset,
        "deliveries": webhooks.list_deliveries(
            session, shop_id, limit=DELIVERIES_PAGE, before=before
        ),
        "paged": before is not None,
        "problem": problem,
        "created": created,
        "url": url,
        "form_key": secrets.token_hex(12),
        "nav": "webhooks",
    }
    return render(request, "admin/webhooks.html", context, status_code=422 if problem else 200)


@router.post("", response_class=HTMLResponse)
def create_endpoint(
    request: Request,
    session: ReadSession,
    writes: Writes,
    url: Annotated[str, Form()] = "",
    events: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    """Answers with the page itself, showing the new endpoint's secret this once."""
    operator = form_operator(request, csrf)
    if isinstance(operator, Response):
        return operator
    try:
        data = WebhookEndpointIn(url=url.strip(), events=split_list(events) or ["*"])
        allow_private = request.app.state.settings.webhook_allow_private_urls
        webhooks.check_destination(data.url, allow_private_urls=allow_private)  # DNS: no txn open
        created = run_form_once(
            writes,
            operator,
            form_key,
            data,
            lambda s: webhooks.create_endpoint(
                s, operator.shop_id, data, allow_private_urls=allow_private
            ),
        )
    except ValidationError:
        return _page(request, session, operator.shop_id, None, problem="url", url=url)
    except KinsaveError as error:
        return _page(request, session, operator.shop_id, None, problem=error.code, url=url)
    return _page(request, session, operator.shop_id, None, created=created)


@router.post("/deliveries/{delivery_id}/resend")
def resend(
    delivery_id: int, request: Request, writes: Writes, csrf: Annotated[str, Form()] = ""
) -> Response:
    return change_and_go_back(
        request,
        writes,
        csrf,
        lambda session, shop_id: webhooks.resend(session, shop_id, delivery_id),
        back="/admin/webhooks",
    )
