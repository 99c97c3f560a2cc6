"""Starting and joining groups; the N-th member's join makes the group succeed, exactly once.

Each step is one conditional statement the database decides (see models.py): a start takes the
group's N units from the deal, a join takes the next seat of the group, the membership row's
unique keys refuse a second open group of the deal and a slot past the per-shopper limit. A
refusal raises, and the request's transaction rolls back whatever the join had taken.

The join that takes seat N flips the group to `succeeded` while it still holds the group's row
(no other join can seat in between), gives every member a set_price coupon and writes the
`group.succeeded` webhook, all in its own transaction.
"""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.coupons import entitlements
from kinsave.db import insert_on_conflict, utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import rules
from kinsave.groups.arrival import Arrival, require_channel
from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from kinsave.groups.schemas import GroupOut, MemberOut, MyGroupsOut
from kinsave.groups.service import find_deal
from kinsave.sharing import attribution
from kinsave.webhooks import service as webhooks

MY_GROUPS_SHOWN = 50


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
    slot = _free_slot_or_refuse(session, deal, shopper_id)
    group = DealGroup(
        id="grp_" + secrets.token_hex(8),
        deal_id=deal.id,
        shop_id=deal.shop_id,
        starter_id=shopper_id,
        size=deal.group_size,
        members=0,
        status="forming",
        created_at=now,
        expires_at=rules.group_expiry(now, deal.window_seconds, deal.ends_at),
    )
    session.add(group)
    session.flush()
    _seat(session, group.id, deal, shopper_id, (slot, device_hash, via.share_code), now)
    view = group_view(session, group.id, shopper_id, now)
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


def join_group(
    session: Session,
    group_id: str,
    shopper_id: str,
    *,
    device_hash: str | None = None,
    via: Arrival | None = None,
    now: datetime | None = None,
) -> GroupOut:
    """Join a forming group; the N-th member's join makes it succeed at once. `via`: the
    channel and share it came through (arrival.py); the membership records the share.

    Errors: not_found, channel_not_allowed, group_expired, group_full (it filled, or
    succeeded), already_in_group (in this group, or in another open group of the deal),
    group_limit_reached, group_self_join (a member shares the joiner's device or host
    identity). A refused join changes nothing.
    """
    now, via = now or utcnow(), via or Arrival()
    found = session.execute(
        select(DealGroup, GroupDeal)
        .join(GroupDeal, GroupDeal.id == DealGroup.deal_id)
        .where(DealGroup.id == group_id)
    ).first()
    if found is None:
        raise KinsaveError("not_found", "no such group")
    group, deal = found
    require_channel(deal.channels, via.channel)
    _refuse_if_closed(group.status, group.expires_at, now)
    slot = _free_slot_or_refuse(session, deal, shopper_id)
    _refuse_self_join(session, group_id, shopper_id, device_hash)
    _seat(session, group_id, deal, shopper_id, (slot, device_hash, via.share_code), now)
    return group_view(session, group_id, shopper_id, now)


def _refuse_if_closed(status: str, expires_at: datetime, now: datetime) -> None:
    if status == "succeeded":
        raise KinsaveError("group_full", "this group is already complete")
    if status == "failed" or expires_at <= now:
        raise KinsaveError("group_expired", "this group's time is up")


def _free_slot_or_refuse(session: Session, deal: GroupDeal, shopper_id: str) -> int:
    """The membership slot the shopper's join will take, read with their open group in one go.

    The friendly refusals (already_in_group, group_limit_reached); the unique keys
    (open_deal_id, shopper_id) and (deal_id, shopper_id, slot) are what guarantee them.
    """
    rows = session.execute(
        select(GroupMember.group_id, GroupMember.open_deal_id, GroupMember.slot).where(
            GroupMember.deal_id == deal.id, GroupMember.shopper_id == shopper_id
        )
    ).all()
    open_group = next((group_id for group_id, open_deal, _ in rows if open_deal), None)
    if open_group is not None:
        raise _already_in_group(open_group)
    slot = rules.free_slot({s for _, _, s in rows if s is not None}, deal.per_shopper_limit)
    if slot is None:
        raise _limit_reached(deal)
    return slot


def _already_in_group(group_id: str | None) -> KinsaveError:
    return KinsaveError(
        "already_in_group",
        "you are already in a group of this deal that is still forming",
        details={"group_id": group_id} if group_id else None,
    )


def _refuse_self_join(
    session: Session, group_id: str, shopper_id: str, device_hash: str | None
) -> None:
    """A second account of a member (same device, or host identity, as sharing events and the
    members' own joins recorded them) cannot fill the group: the referral rule, reused."""
    members = session.execute(
        select(GroupMember.shopper_id, GroupMember.device_hash).where(
            GroupMember.group_id == group_id
        )
    ).all()
    others = [member for member, _device in members if member != shopper_id]
    marks = attribution.identity_marks(session, [*others, shopper_id])
    for member, device in members:
        if device:
            marks[member].add("d:" + device)
    mine = marks[shopper_id] | ({"d:" + device_hash} if device_hash else set())
    if any(mine & marks[other] for other in others):
        raise KinsaveError("group_self_join", "a member of this group uses the same device")


def _seat(
    session: Session,
    group_id: str,
    deal: GroupDeal,
    shopper_id: str,
    seat: tuple[int, str | None, str | None],  # (slot, device hash, share code)
    now: datetime,
) -> None:
    """Take the group's next seat and record the membership; the N-th seat succeeds it."""
    seated = session.execute(
        update(DealGroup)
        .where(
            DealGroup.id == group_id,
            DealGroup.status == "forming",
            DealGroup.members < DealGroup.size,
            DealGroup.expires_at > now,
        )
        .values(members=DealGroup.members + 1)
        .returning(DealGroup.members, DealGroup.size)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if seated is None:
        # Another join took the last seat (or the window ended) while we waited our turn.
        fresh = session.execute(
            select(DealGroup.status, DealGroup.expires_at).where(DealGroup.id == group_id)
        ).one()
        _refuse_if_closed(fresh.status, fresh.expires_at, now)
        raise KinsaveError("group_full", "this group already has all its members")
    position, size = seated
    _insert_member(session, group_id, deal, shopper_id, (position, *seat), now)
    if position == size:
        _succeed(session, group_id, deal, now)


def _insert_member(
    session: Session,
    group_id: str,
    deal: GroupDeal,
    shopper_id: str,
    # (position in the group, the shopper's slot in the deal, device hash, share code)
    place: tuple[int, int, str | None, str | None],
    now: datetime,
) -> None:
    position, slot, device_hash, via_share = place
    # ON CONFLICT DO NOTHING rather than a savepoint: a refused insert leaves the transaction
    # usable for the read that says why, at no extra round trips when nothing conflicts.
    inserted = session.execute(
        insert_on_conflict(session, GroupMember)
        .values(
            group_id=group_id,
            deal_id=deal.id,
            shopper_id=shopper_id,
            position=position,
            open_deal_id=deal.id,
            slot=slot,
            device_hash=device_hash,
            via_share=via_share,
            joined_at=now,
        )
        .on_conflict_do_nothing()
        .returning(GroupMember.id)
    ).first()
    if inserted is None:
        # A concurrent join of the same shopper won: an open group of the deal, or the slot.
        _free_slot_or_refuse(session, deal, shopper_id)
        raise _already_in_group(None)


def _limit_reached(deal: GroupDeal) -> KinsaveError:
    return KinsaveError(
        "group_limit_reached", f"you can join at most {deal.per_shopper_limit} groups of this deal"
    )


def _succeed(session: Session, group_id: str, deal: GroupDeal, now: datetime) -> None:
    session.execute(
        update(DealGroup)
        .where(DealGroup.id == group_id, DealGroup.status == "forming")
        .values(status="succeeded", closed_at=now)
        .execution_options(synchronize_session=False)
    )
    members = session.execute(
        select(GroupMember.id, GroupMember.shopper_id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.position)
    ).all()
    given = entitlements.grant_set_price(
        session, deal.template_id, [shopper for _id, shopper in members], now
    )
    for member_id, shopper_id in members:
        session.execute(
            update(GroupMember)
            .where(GroupMember.id == member_id)
            .values(open_deal_id=None, coupon_id=given[shopper_id])
            .execution_options(synchronize_session=False)
        )
    webhooks.enqueue(
        session,
        deal.shop_id,
        "group.succeeded",
        {
            "group_id": group_id,
            "deal_id": deal.id,
            "sku": deal.sku,
            "group_price": deal.group_price,
            "succeeded_at": now.isoformat(),
            "members": [
                {"shopper_id": shopper, "coupon_id": given[shopper]} for _id, shopper in members
            ],
        },
    )


# Views read plain rows of these columns, not ORM objects: building the answer through the
# ORM's loading was over a third of a join's time (bench group-rush).
_GROUP_COLUMNS = (
    DealGroup.id,
    DealGroup.deal_id,
    DealGroup.size,
    DealGroup.members,
    DealGroup.status,
    DealGroup.created_at,
    DealGroup.expires_at,
    DealGroup.closed_at,
)
_MEMBER_COLUMNS = (
    GroupMember.group_id,
    GroupMember.shopper_id,
    GroupMember.position,
    GroupMember.joined_at,
    GroupMember.coupon_id,
)


def group_view(
    session: Session, group_id: str, viewer_id: str | None, now: datetime | None = None
) -> GroupOut:
    """The group with its members, what it still needs and its time left. Errors: not_found."""
    now = now or utcnow()
    group = session.execute(select(*_GROUP_COLUMNS).where(DealGroup.id == group_id)).first()
    if group is None:
        raise KinsaveError("not_found", "no such group")
    return _views(session, [group], viewer_id, now)[0]


def my_groups(session: Session, shopper_id: str, now: datetime | None = None) -> MyGroupsOut:
    """The groups the shopper is or was in, newest first."""
    now = now or utcnow()
    groups = session.execute(
        select(*_GROUP_COLUMNS)
        .join(GroupMember, GroupMember.group_id == DealGroup.id)
        .where(GroupMember.shopper_id == shopper_id)
        .order_by(DealGroup.created_at.desc(), DealGroup.id)
        .limit(MY_GROUPS_SHOWN)
    ).all()
    return MyGroupsOut(groups=_views(session, list(groups), shopper_id, now))


def _views(
    session: Session, groups: list[Any], viewer_id: str | None, now: datetime
) -> list[GroupOut]:
    ids = [g.id for g in groups]
    members: dict[str, list[Any]] = {group_id: [] for group_id in ids}
    for row in session.execute(
        select(*_MEMBER_COLUMNS).where(GroupMember.group_id.in_(ids)).order_by(GroupMember.position)
    ):
        members[row.group_id].append(row)
    # Usually already in the session (the join read it): no query then.
    deals = {deal_id: session.get(GroupDeal, deal_id) for deal_id in {g.deal_id for g in groups}}
    names = auth.display_names(session, [m.shopper_id for rows in members.values() for m in rows])
    return [_view(g, deals[g.deal_id], members[g.id], names, viewer_id, now) for g in groups]


def _view(
    group: Any,
    deal: GroupDeal | None,
    members: list[Any],
    names: dict[str, str],
    viewer_id: str | None,
    now: datetime,
) -> GroupOut:
    assert deal is not None  # a group's deal exists (foreign key)
    mine = next((m for m in members if m.shopper_id == viewer_id), None)
    return GroupOut(
        id=group.id,
        deal_id=deal.id,
        shop_id=deal.shop_id,
        sku=deal.sku,
        title=deal.title,
        regular_price=deal.regular_price,
        group_price=deal.group_price,
        status=rules.shown_status(group.status, group.expires_at, now),
        size=group.size,
        needed=group.size - group.members,
        members=[
            MemberOut(
                shopper_id=m.shopper_id,
                display_name=names.get(m.shopper_id, m.shopper_id),
                position=m.position,
                joined_at=m.joined_at,
            )
            for m in members
        ],
        created_at=group.created_at,
        expires_at=group.expires_at,
        seconds_left=rules.seconds_left(group.expires_at, now) if group.status == "forming" else 0,
        closed_at=group.closed_at,
        my_coupon_id=mine.coupon_id if mine else None,
    )
