"""Starting a group: the starter is its first member, and the deal's units for it are held.

A start takes the group's N units from the deal in one conditional UPDATE of the deal's row
(`units_taken + N <= units`), last in its transaction (see start_group); the membership row's
unique keys refuse a second open group of the deal and a slot past the per-shopper limit, as
they do for a join (joining.py).
"""

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import rules
from kinsave.groups.arrival import Arrival, require_channel
from kinsave.groups.joining import insert_member, memberships, slot_or_refuse
from kinsave.groups.models import DealGroup, GroupDeal
from kinsave.groups.schemas import GroupOut
from kinsave.groups.service import find_deal
from kinsave.groups.views import DEAL_COLUMNS, GROUP_COLUMNS, GroupFacts, MemberFacts, build_view


def start_group(
    session: Session,
    deal_id: str,
    shopper_id: str,
    *,
    device_hash: str | None = None,
    via: Arrival | None = None,
    now: datetime | None = None,
) -> GroupOut:
    """Start a group of the deal with the shopper as its first member; its N units are held
    for it until it succeeds or fails. Errors: not_found, group_deal_not_active,
    channel_not_allowed, group_deal_sold_out, already_in_group, group_limit_reached."""
    now = now or utcnow()
    via = via or Arrival()
    deal = find_deal(session, deal_id)
    require_channel(deal.channels, via.channel)
    if not rules.deal_open_for_groups(deal.status, deal.starts_at, deal.ends_at, now):
        raise KinsaveError("group_deal_not_active", "this group deal is not taking new groups")
    mine = memberships(session, deal.id, shopper_id)
    slot = slot_or_refuse(mine, deal.per_shopper_limit)
    group = GroupFacts(
        id="grp_" + secrets.token_hex(8),
        deal_id=deal.id,
        size=deal.group_size,
        members=1,  # the starter's seat: a group of one never fills (N >= 2)
        status="forming",
        created_at=now,
        expires_at=rules.group_expiry(now, deal.window_seconds, deal.ends_at),
        closed_at=None,
        **{column.key: getattr(deal, column.key) for column in DEAL_COLUMNS},
    )
    session.add(
        DealGroup(
            **{column.key: getattr(group, column.key) for column in GROUP_COLUMNS},
            shop_id=deal.shop_id,
            starter_id=shopper_id,
        )
    )
    session.flush()
    insert_member(session, group, shopper_id, (1, slot, device_hash, via.share_code), now)
    names = auth.display_names(session, [shopper_id])
    view = build_view(group, [MemberFacts(shopper_id, 1, now, None)], names, shopper_id, now)
    # Last: every start locks the deal's row here until its commit, so the less comes after
    # it, the more starts a second. A refusal rolls the new group back with everything else.
    _take_units(session, deal)
    return view


def _take_units(session: Session, deal: GroupDeal) -> None:
    taken = session.execute(
        update(GroupDeal)
        .where(
            GroupDeal.id == deal.id,
            GroupDeal.status == "active",
            GroupDeal.units_taken + GroupDeal.group_size <= GroupDeal.units,
        )
        .values(units_taken=GroupDeal.units_taken + GroupDeal.group_size)
        .returning(GroupDeal.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if taken is None:
        status = session.execute(select(GroupDeal.status).where(GroupDeal.id == deal.id)).scalar()
        if status != "active":
            raise KinsaveError("group_deal_not_active", "this group deal is not taking new groups")
        raise KinsaveError("group_deal_sold_out", "every unit of this deal is taken")
