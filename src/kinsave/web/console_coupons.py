"""The console's coupon templates: list with stock left (paginated), create, pause, resume, end."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave.api import ReadSession, Writes
from kinsave.coupons import service as coupons
from kinsave.web.console_forms import (
    change_and_go_back,
    create_from_form,
    to_sign_in,
)
from kinsave.web.forms import template_from_form
from kinsave.web.paging import page_of
from kinsave.web.rendering import render
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin/coupons", include_in_schema=False)
FIELDS = (
    "name",
    "kind",
    "amount",
    "percent",
    "cap",
    "threshold",
    "stock",
    "per_shopper_limit",
    "valid_days",
    "valid_from",
    "valid_until",
    "timezone",
    "min_spend",
    "stacking_group",
    "credit_combinable",
    "categories",
    "campaign_id",
)
# A refused field is named on the page by its label; an error code by its message.
PROBLEM_LABELS = {
    "name": "admin.name",
    "kind": "admin.kind",
    "amount": "admin.amount",
    "percent": "admin.percent",
    "cap": "admin.cap",
    "threshold": "admin.threshold",
    "min_spend": "admin.min_spend",
    "stock": "admin.stock",
    "per_shopper_limit": "admin.per_shopper",
    "valid_from": "admin.valid_from",
    "valid_until": "admin.valid_until",
    "timezone": "admin.timezone",
    "valid_days": "admin.valid_days",
    "stacking_group": "admin.stacking_group",
    "scope": "admin.categories",
}


@router.get("", response_class=HTMLResponse)
def template_list(
    request: Request, session: ReadSession, offset: int = 0, problem: str | None = None
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    return _page(request, session, operator.shop_id, max(offset, 0), {}, problem)


def _page(
    request: Request,
    session: ReadSession,
    shop_id: str,
    offset: int,
    fields: dict[str, str],
    problem: str | None,
) -> Response:
    shown = page_of(coupons.list_templates(session, shop_id).templates, offset)
    context = {
        "templates": shown.items,
        "offset": shown.offset,
        "limit": shown.limit,
        "next_offset": shown.next_offset,
        "fields": fields,
        "problem": problem,
        "problem_labels": PROBLEM_LABELS,
        "form_key": secrets.token_hex(12),
        "nav": "coupons",
    }
    return render(request, "admin/coupons.html", context, status_code=422 if fields else 200)


@router.post("", response_class=HTMLResponse)
async def create_template(request: Request, session: ReadSession, writes: Writes) -> Response:
    return await create_from_form(
        request,
        writes,
        FIELDS,
        template_from_form,
        coupons.create_template,
        lambda shop_id, fields, problem: _page(request, session, shop_id, 0, fields, problem),
        done="/admin/coupons",
    )


@router.post("/{template_id}/status")
def set_status(
    template_id: str,
    request: Request,
    writes: Writes,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return change_and_go_back(
        request,
        writes,
        csrf,
        lambda session, shop_id: coupons.set_template_status(session, shop_id, template_id, action),
        back="/admin/coupons",
        choice_valid=action in ("pause", "resume", "end"),
    )
