"""Coupon templates (operators) and the shopper's coupons (claims themselves: claims.py)."""

import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.coupons.schemas import (
    CenterEntryOut,
    CenterOut,
    CouponListOut,
    CouponOut,
    ScopeOut,
    State,
    TemplateIn,
    TemplateListOut,
    TemplateOut,
)
from kinsave.db import forget_gate_after_commit, utcnow
from kinsave.errors import KinsaveError


def create_template(session: Session, shop_id: str, data: TemplateIn) -> TemplateOut:
    """A new active template. Errors: invalid_request, invalid_amount, not_found (campaign)."""
    _check_terms(data)
    if data.campaign_id is not None:
        campaigns.owned_campaign(session, shop_id, data.campaign_id)
    scope_kind, values = _scope(data)
    template = CouponTemplate(
        id="ctpl_" + secrets.token_hex(8),
        shop_id=shop_id,
        campaign_id=data.campaign_id,
        name=data.name,
        kind=data.kind,
        amount=data.amount,
        percent=data.percent,
        cap=data.cap,
        threshold=data.threshold,
        min_spend=max(data.min_spend, data.scope.min_spend),
        scope_kind=scope_kind,
        scope_values=values,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        valid_days=data.valid_days,
        stock=data.stock,
        issued=0,
        per_shopper_limit=data.per_shopper_limit,
        stacking_group=data.stacking_group,
        credit_combinable=data.credit_combinable,
        status="active",
        created_at=utcnow(),
    )
    session.add(template)
    session.flush()
    return template_out(template)


def _check_terms(data: TemplateIn) -> None:
    if data.kind in ("amount_off", "threshold") and data.amount <= 0:
        raise KinsaveError("invalid_amount", f"a {data.kind} coupon needs a positive amount")
    if data.kind == "threshold" and data.threshold <= 0:
        raise KinsaveError("invalid_amount", "a threshold coupon needs a positive threshold")
    if data.kind == "percent_off" and not 1 <= data.percent <= 100:
        raise KinsaveError("invalid_amount", "percent must be between 1 and 100")
    if data.kind == "set_price" and len(set(data.scope.skus)) != 1:
        raise KinsaveError("invalid_request", "a set_price coupon covers exactly one sku")
    if data.valid_days is None and data.valid_until is None:
        raise KinsaveError("invalid_request", "give valid_days or valid_until")
    if data.valid_from and data.valid_until and data.valid_from >= data.valid_until:
        raise KinsaveError("invalid_request", "valid_from must be before valid_until")
    for moment in (data.valid_from, data.valid_until):
        if moment is not None and moment.tzinfo is None:
            raise KinsaveError("invalid_request", "times need a timezone")


def _scope(data: TemplateIn) -> tuple[str, list[str]]:
    scope = data.scope
    kind = scope.kind or ("skus" if scope.skus else "categories" if scope.categories else "store")
    values = {"store": [], "categories": scope.categories, "skus": scope.skus}[kind]
    if kind != "store" and not values:
        raise KinsaveError("invalid_request", f"a {kind} scope needs at least one value")
    return kind, sorted(set(values))


def template_out(template: CouponTemplate) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        shop_id=template.shop_id,
        campaign_id=template.campaign_id,
        name=template.name,
        kind=template.kind,
        amount=template.amount,
        percent=template.percent,
        cap=template.cap,
        threshold=template.threshold,
        scope=_scope_out(template),
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        valid_days=template.valid_days,
        stock=template.stock,
        issued=template.issued,
        stock_left=template.stock - template.issued,
        per_shopper_limit=template.per_shopper_limit,
        stacking_group=template.stacking_group,
        credit_combinable=template.credit_combinable,
        status=template.status,
        created_at=template.created_at,
    )


def _scope_out(template: CouponTemplate) -> ScopeOut:
    return ScopeOut(
        kind=template.scope_kind, values=template.scope_values, min_spend=template.min_spend
    )


def owned_template(session: Session, shop_id: str, template_id: str) -> CouponTemplate:
    """The shop's template; another shop's is not_found."""
    template = session.get(CouponTemplate, template_id)
    if template is None or template.shop_id != shop_id:
        raise KinsaveError("not_found", "no such coupon template")
    return template


def list_templates(session: Session, shop_id: str) -> TemplateListOut:
    rows = session.execute(
        select(CouponTemplate)
        .where(CouponTemplate.shop_id == shop_id)
        .order_by(CouponTemplate.created_at.desc(), CouponTemplate.id)
    ).scalars()
    return TemplateListOut(templates=[template_out(t) for t in rows])


def set_template_status(
    session: Session, shop_id: str, template_id: str, action: str
) -> TemplateOut:
    """pause, resume or end. Ending is final; coupons already claimed stay valid until their own
    expiry. Errors: not_found, conflict (resuming an ended template)."""
    template = owned_template(session, shop_id, template_id)
    if template.status == "granted":
        raise KinsaveError(
            "conflict", "this template's coupons are given by a group deal or price cut"
        )
    target = {"pause": "paused", "resume": "active", "end": "ended"}[action]
    changed = session.execute(
        update(CouponTemplate)
        .where(CouponTemplate.id == template_id, CouponTemplate.status != "ended")
        .values(status=target, ended_at=utcnow() if target == "ended" else None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed and target != "ended":
        raise KinsaveError("conflict", "an ended template cannot be changed")
    forget_gate_after_commit(session, f"tpl:{template_id}")
    session.refresh(template)
    return template_out(template)


def coupon_state(coupon: Coupon, now: datetime) -> State:
    if coupon.state == "available" and coupon.expires_at <= now:
        return "expired"
    return (
        "reserved"
        if coupon.state == "reserved"
        else "used"
        if coupon.state == "used"
        else "available"
    )


def coupon_out(coupon: Coupon, template: CouponTemplate, now: datetime) -> CouponOut:
    return coupon_view(
        template,
        coupon_id=coupon.id,
        state=coupon_state(coupon, now),
        claimed_at=coupon.claimed_at,
        expires_at=coupon.expires_at,
    )


def coupon_view(
    template: CouponTemplate,
    *,
    coupon_id: str,
    state: State,
    claimed_at: datetime,
    expires_at: datetime,
) -> CouponOut:
    """A coupon as the shopper sees it: its template's terms and its own state and dates."""
    return CouponOut(
        id=coupon_id,
        template_id=template.id,
        shop_id=template.shop_id,
        name=template.name,
        kind=template.kind,
        amount=template.amount,
        percent=template.percent,
        cap=template.cap,
        threshold=template.threshold,
        scope=_scope_out(template),
        stacking_group=template.stacking_group,
        credit_combinable=template.credit_combinable,
        state=state,
        claimed_at=claimed_at,
        expires_at=expires_at,
    )


def my_coupons(
    session: Session,
    shopper_id: str,
    *,
    state: str | None = None,
    shop_id: str | None = None,
    now: datetime | None = None,
) -> CouponListOut:
    """The shopper's coupons, newest first, each with its state (expired is derived)."""
    now = now or utcnow()
    statement = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.shopper_id == shopper_id)
        .order_by(Coupon.claimed_at.desc(), Coupon.id)
    )
    if shop_id is not None:
        statement = statement.where(Coupon.shop_id == shop_id)
    coupons = [coupon_out(c, t, now) for c, t in session.execute(statement).all()]
    return CouponListOut(coupons=[c for c in coupons if state is None or c.state == state])


def claimable(
    session: Session, shopper_id: str, shop_id: str | None, now: datetime
) -> list[tuple[CouponTemplate, int]]:
    """Templates the shopper can still claim now, with how many they already hold."""
    templates = claimable_templates(session, shop_id, now)
    held: dict[str, int] = {
        template_id: count
        for template_id, count in session.execute(
            select(Coupon.template_id, func.count())
            .where(Coupon.shopper_id == shopper_id)
            .group_by(Coupon.template_id)
        )
    }
    return [(t, held.get(t.id, 0)) for t in templates if held.get(t.id, 0) < t.per_shopper_limit]


def claimable_templates(
    session: Session, shop_id: str | None, now: datetime
) -> list[CouponTemplate]:
    """Templates anyone could claim now (active, in stock, in their window), oldest first."""
    statement = select(CouponTemplate).where(
        CouponTemplate.status == "active",
        CouponTemplate.issued < CouponTemplate.stock,
        (CouponTemplate.valid_from.is_(None)) | (CouponTemplate.valid_from <= now),
        (CouponTemplate.valid_until.is_(None)) | (CouponTemplate.valid_until > now),
    )
    if shop_id is not None:
        statement = statement.where(CouponTemplate.shop_id == shop_id)
    return list(session.execute(statement.order_by(CouponTemplate.created_at)).scalars())


def find_template(session: Session, template_id: str) -> TemplateOut | None:
    """A template by id, of any shop (the caller checks the shop), or None."""
    template = session.get(CouponTemplate, template_id)
    return None if template is None else template_out(template)


def find_coupon(session: Session, coupon_id: str, now: datetime) -> CouponOut | None:
    """A claimed coupon by id, as its holder sees it, or None."""
    row = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.id == coupon_id)
    ).first()
    return None if row is None else coupon_out(row[0], row[1], now)


def coupon_center(
    session: Session, shopper_id: str, shop_id: str | None = None, now: datetime | None = None
) -> CenterOut:
    """What the shopper can still claim: active, in stock, in its window, under their limit."""
    rows = claimable(session, shopper_id, shop_id, now or utcnow())
    return CenterOut(
        templates=[
            CenterEntryOut(template=template_out(t), claimed=n, can_claim=t.per_shopper_limit - n)
            for t, n in rows
        ]
    )
