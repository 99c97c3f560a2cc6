"""The console's support pages: find a shopper the shop knows (by id, name or a host's user id),
see their wallet history at the shop, coupons, orders and refunds, and adjust their credit by
hand with a reason. The adjustment is one form, one transaction (`console_forms.answer_form`: a
double submit books nothing twice), one ledger transfer and one audit entry (`support.service`)."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kinsave.api import ReadSession, Writes
from kinsave.auth.schemas import ShopPrincipal
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.support import service as support
from kinsave.support.schemas import CreditAdjustmentIn, CreditAdjustmentOut
from kinsave.web.console_forms import answer_form, to_sign_in
from kinsave.web.forms import parse_signed_yuan
from kinsave.web.rendering import render
from kinsave.web.security import console_operator

router = APIRouter(prefix="/admin/shoppers", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def shopper_search(request: Request, session: ReadSession, q: str = "") -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    found = support.find_shoppers(session, operator.shop_id, q) if q.strip() else None
    context = {"query": q, "found": found, "nav": "shoppers"}
    return render(request, "admin/shoppers.html", context)


@router.get("/{shopper_id}", response_class=HTMLResponse)
def shopper_page(
    shopper_id: str,
    request: Request,
    session: ReadSession,
    adjusted: str | None = None,
) -> Response:
    operator = console_operator(request)
    if operator is None:
        return to_sign_in()
    return _shopper_page(request, session, operator.shop_id, shopper_id, adjusted=adjusted)


def _shopper_page(
    request: Request,
    session: Session,
    shop_id: str,
    shopper_id: str,
    *,
    adjusted: str | None = None,
    problem: str | None = None,
    fields: dict[str, str] | None = None,
) -> Response:
    """The shopper's page; with a problem, the form again with what was typed (422)."""
    try:
        shopper = support.shopper_at_shop(session, shop_id, shopper_id)
    except KinsaveError:
        return render(request, "admin/missing.html", {}, status_code=404)
    context = {
        "shopper": shopper,
        "problem": problem,
        "adjusted": adjusted,
        "fields": fields or {},
        "form_key": secrets.token_hex(12),
        "nav": "shoppers",
    }
    return render(request, "admin/shopper.html", context, status_code=422 if problem else 200)


@router.post("/{shopper_id}/credit", response_class=HTMLResponse)
def adjust_credit(
    shopper_id: str,
    request: Request,
    writes: Writes,
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    """Add or take back credit; back to the shopper's page, saying what happened."""
    key = (form_key or secrets.token_hex(12))[:100]

    def adjust(
        session: Session, operator: ShopPrincipal, data: CreditAdjustmentIn
    ) -> CreditAdjustmentOut:
        transfer_id = support.adjust_credit(
            session,
            operator.shop_id,
            shopper_id,
            amount=data.amount,
            reason=data.reason,
            actor=operator.key_prefix or operator.role,
            key=key,
        )
        balance = ledger.wallet_balance(session, shopper_id, operator.shop_id)
        return CreditAdjustmentOut(transfer_id=transfer_id, amount=data.amount, balance=balance)

    return answer_form(
        request,
        writes,
        csrf=csrf,
        form_key=key,
        parse=lambda: CreditAdjustmentIn(
            shopper_id=shopper_id, amount=parse_signed_yuan(amount, "amount"), reason=reason
        ),
        write=adjust,
        refused=lambda operator, problem: _with_problem(
            request, operator.shop_id, shopper_id, problem, {"amount": amount, "reason": reason}
        ),
        done=lambda adjusted: f"/admin/shoppers/{shopper_id}?adjusted={adjusted.data.amount}",
    )


def _with_problem(
    request: Request, shop_id: str, shopper_id: str, problem: str, fields: dict[str, str]
) -> Response:
    """Nothing moved: the page again, saying what is wrong."""
    with unit_of_work(request.app.state.read_session_factory) as session:
        return _shopper_page(request, session, shop_id, shopper_id, problem=problem, fields=fields)
