"""The console's group deals: create, pause, resume, and watch groups forming, succeeded and
failed with the conversion."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kinsave.api import ReadSession, Writes
from kinsave.groups import service as group_deals
from kinsave.groups.schemas import GroupDealIn
from kinsave.web.console_forms import (
    change_and_go_back,
    create_from_form,
    to_sign_in,
)
from kinsave.web.forms import parse_int, parse_yuan
from kinsave.web.rendering import render
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin/group-deals", include_in_schema=False)
FIELDS = ("sku", "group_price", "group_size", "window_hours", "units", "per_shopper_limit")
PROBLEM_LABELS = {
    "sku": "admin.sku",
    "group_price": "admin.group_price",
    "group_size": "admin.group_size",
    "window_hours": "admin.window_hours",
    "units": "admin.units",
    "per_shopper_limit": "admin.per_shopper",
}


def deal_from_form(fields: dict[str, str]) -> GroupDealIn:
    """Raises FormError, or pydantic's ValidationError for rules the API model enforces."""
    return GroupDealIn(
        sku=fields.get("sku", "").strip(),
        group_price=parse_yuan(fields.get("group_price", ""), "group_price"),
        group_size=parse_int(fields.get("group_size", ""), "group_size"),
        window_hours=parse_int(fields.get("window_hours", "") or "24", "window_hours"),
        units=parse_int(fields.get("units", ""), "units"),
        per_shopper_limit=parse_int(
            fields.get("per_shopper_limit", "") or "1", "per_shopper_limit"
        ),
    )


@router.get("", response_class=HTMLResponse)
def deal_list(request: Request, session: ReadSession, problem: str | None = None) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    return _page(request, session, operator.shop_id, {}, problem)


def _page(
    request: Request,
    session: ReadSession,
    shop_id: str,
    fields: dict[str, str],
    problem: str | None,
) -> Response:
    context = {
        "deals": group_deals.list_deals(session, shop_id).deals,
        "fields": fields,
        "problem": problem,
        "problem_labels": PROBLEM_LABELS,
        "form_key": secrets.token_hex(12),
        "nav": "group_deals",
    }
    return render(request, "admin/group_deals.html", context, status_code=422 if fields else 200)


@router.post("", response_class=HTMLResponse)
async def create_deal(request: Request, session: ReadSession, writes: Writes) -> Response:
    return await create_from_form(
        request,
        writes,
        FIELDS,
        deal_from_form,
        group_deals.create_deal,
        lambda shop_id, fields, problem: _page(request, session, shop_id, fields, problem),
        done="/admin/group-deals",
    )


@router.post("/{deal_id}/status")
def set_status(
    deal_id: str,
    request: Request,
    writes: Writes,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return change_and_go_back(
        request,
        writes,
        csrf,
        lambda session, shop_id: group_deals.set_deal_status(session, shop_id, deal_id, action),
        back="/admin/group-deals",
        choice_valid=action in ("pause", "resume"),
    )
