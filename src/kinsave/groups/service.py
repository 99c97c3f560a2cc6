"""Group deals: an operator's terms, and what operators and shoppers see of them.

Starting and joining groups: joining.py; failing the groups whose window ended: expiry.py.
"""

import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.catalog import service as catalog
from kinsave.coupons import entitlements
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import rules
from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from kinsave.groups.schemas import (
    GroupDealIn,
    GroupDealListOut,
    GroupDealOut,
    GroupDealPublicOut,
    OpenGroupOut,
)
from kinsave.sharing import channels as sharing_channels

OPEN_GROUPS_SHOWN = 20


def create_deal(
    session: Session, shop_id: str, data: GroupDealIn, now: datetime | None = None
) -> GroupDealOut:
    """A new active group deal for a product of the shop's catalog, with the granted set_price
    template its successful groups' members get coupons of (stock: the deal's units).
    Errors: not_found (product or channel), invalid_request (terms)."""
    now = now or utcnow()
    product = catalog.get_product(session, shop_id, data.sku)
    problem = rules.terms_problem(
        group_price=data.group_price,
        regular_price=product.price,
        group_size=data.group_size,
        units=data.units,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    if problem:
        raise KinsaveError("invalid_request", problem)
    for channel in data.channels:
        sharing_channels.require_channel(session, shop_id, channel)
    template_id = entitlements.create_set_price_template(
        session,
        shop_id,
        name=f"{product.title} at the group price",
        sku=product.sku,
        price=data.group_price,
        stock=data.units,
        valid_days=data.entitlement_days,
        now=now,
    )
    deal = GroupDeal(
        id="gd_" + secrets.token_hex(8),
        shop_id=shop_id,
        sku=product.sku,
        title=product.title,
        regular_price=product.price,
        group_price=data.group_price,
        group_size=data.group_size,
        window_seconds=data.window_hours * 3600,
        units=data.units,
        units_taken=0,
        per_shopper_limit=data.per_shopper_limit,
        channels=sorted(set(data.channels)),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        status="active",
        template_id=template_id,
        created_at=now,
    )
    session.add(deal)
    session.flush()
    return deal_out(session, deal)


def find_deal(session: Session, deal_id: str) -> GroupDeal:
    """The deal, of any shop. Errors: not_found."""
    deal = session.get(GroupDeal, deal_id)
    if deal is None:
        raise KinsaveError("not_found", "no such group deal")
    return deal


def owned_deal(session: Session, shop_id: str, deal_id: str) -> GroupDeal:
    """The shop's deal; another shop's is not_found."""
    deal = find_deal(session, deal_id)
    if deal.shop_id != shop_id:
        raise KinsaveError("not_found", "no such group deal")
    return deal


def admin_deal(session: Session, shop_id: str, deal_id: str) -> GroupDealOut:
    return deal_out(session, owned_deal(session, shop_id, deal_id))


def list_deals(session: Session, shop_id: str) -> GroupDealListOut:
    deals = session.execute(
        select(GroupDeal)
        .where(GroupDeal.shop_id == shop_id)
        .order_by(GroupDeal.created_at.desc(), GroupDeal.id)
    ).scalars()
    return GroupDealListOut(deals=[deal_out(session, deal) for deal in deals])


def set_deal_status(session: Session, shop_id: str, deal_id: str, action: str) -> GroupDealOut:
    """pause (no new groups start; forming groups may still fill, as their members were
    promised) or resume. Errors: not_found."""
    owned_deal(session, shop_id, deal_id)
    session.execute(
        update(GroupDeal)
        .where(GroupDeal.id == deal_id)
        .values(status="paused" if action == "pause" else "active")
        .execution_options(synchronize_session=False)
    )
    deal = owned_deal(session, shop_id, deal_id)
    session.refresh(deal)
    return deal_out(session, deal)


def deal_out(session: Session, deal: GroupDeal) -> GroupDealOut:
    counts: dict[str, int] = {
        status: int(n)
        for status, n in session.execute(
            select(DealGroup.status, func.count())
            .where(DealGroup.deal_id == deal.id)
            .group_by(DealGroup.status)
        )
    }
    succeeded, failed = counts.get("succeeded", 0), counts.get("failed", 0)
    return GroupDealOut(
        id=deal.id,
        shop_id=deal.shop_id,
        sku=deal.sku,
        title=deal.title,
        regular_price=deal.regular_price,
        group_price=deal.group_price,
        group_size=deal.group_size,
        window_seconds=deal.window_seconds,
        units=deal.units,
        units_taken=deal.units_taken,
        units_left=deal.units - deal.units_taken,
        per_shopper_limit=deal.per_shopper_limit,
        channels=deal.channels,
        starts_at=deal.starts_at,
        ends_at=deal.ends_at,
        status=deal.status,
        template_id=deal.template_id,
        groups_forming=counts.get("forming", 0),
        groups_succeeded=succeeded,
        groups_failed=failed,
        conversion_percent=rules.conversion_percent(succeeded, succeeded + failed),
        created_at=deal.created_at,
    )


def public_deal(
    session: Session, deal_id: str, shopper_id: str, now: datetime | None = None
) -> GroupDealPublicOut:
    """The deal as a shopper sees it, with the forming groups that need the fewest members
    first (the ones a join completes soonest). Errors: not_found."""
    now = now or utcnow()
    deal = find_deal(session, deal_id)
    groups = list(
        session.execute(
            select(DealGroup)
            .where(
                DealGroup.deal_id == deal_id,
                DealGroup.status == "forming",
                DealGroup.expires_at > now,
            )
            .order_by((DealGroup.size - DealGroup.members), DealGroup.expires_at, DealGroup.id)
            .limit(OPEN_GROUPS_SHOWN)
        ).scalars()
    )
    names = auth.display_names(session, [g.starter_id for g in groups])
    mine = session.execute(
        select(GroupMember.group_id).where(
            GroupMember.open_deal_id == deal_id, GroupMember.shopper_id == shopper_id
        )
    ).scalar_one_or_none()
    return GroupDealPublicOut(
        id=deal.id,
        shop_id=deal.shop_id,
        sku=deal.sku,
        title=deal.title,
        regular_price=deal.regular_price,
        group_price=deal.group_price,
        saving=deal.regular_price - deal.group_price,
        group_size=deal.group_size,
        window_seconds=deal.window_seconds,
        units_left=deal.units - deal.units_taken,
        open_for_groups=rules.deal_open_for_groups(deal.status, deal.starts_at, deal.ends_at, now),
        open_groups=[
            OpenGroupOut(
                id=g.id,
                starter_name=names.get(g.starter_id, g.starter_id),
                members=g.members,
                needed=g.size - g.members,
                expires_at=g.expires_at,
                seconds_left=rules.seconds_left(g.expires_at, now),
            )
            for g in groups
        ],
        my_group_id=mine,
    )
