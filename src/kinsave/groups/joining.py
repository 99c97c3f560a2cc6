"""Joining groups; the N-th member's join makes the group succeed, exactly once.

Each step is one conditional statement the database decides (see models.py): a join takes the
next seat of the group, the membership row's unique keys refuse a second open group of the deal
and a slot past the per-shopper limit (a start, starting.py, takes the group's units the same
way). A refused join changes nothing.

A join reads everything it checks before it takes its seat (one read for the group, its deal,
its members and the joiner's memberships; the names and identity marks, once per batch:
people.py), because the seat's UPDATE locks the group's row until commit. After the seat
comes only the membership row; the N-th seat's UPDATE itself flips the group to `succeeded`,
and the same transaction gives every member a set_price coupon and writes the
`group.succeeded` webhook (success.py). The answer is built from the rows already read
(re-read only when another join seated in between).

Joins are committed in batches (`join_groups`, the group-join batcher's batch function): a
durable commit per join cost more than its statements (bench group-rush). A join alone
(`join_group`: an Idempotency-Key, a test) is a batch of one, the same statements.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from kinsave.db import UTCDateTime, insert_or_skip_by_dialect, utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import rules
from kinsave.groups.arrival import arrival, require_channel
from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from kinsave.groups.people import People
from kinsave.groups.schemas import GroupOut
from kinsave.groups.success import Filled, give_success, unseat
from kinsave.groups.views import (
    DEAL_COLUMNS,
    GROUP_COLUMNS,
    GroupFacts,
    MemberFacts,
    build_view,
    new_group_path,
)

# A membership as a join reads it: the view's columns, then what the checks need.
_MEMBERSHIP_COLUMNS = (
    GroupMember.group_id,
    GroupMember.shopper_id,
    GroupMember.position,
    GroupMember.joined_at,
    GroupMember.coupon_id,
    GroupMember.device_hash,
    GroupMember.open_deal_id,
    GroupMember.slot,
)
Seat = tuple[int, str | None, str | None]  # (slot in the deal, device hash, share code)


# The join's statements, built once: building them per call (SQLAlchemy's expression objects)
# cost more than running them (bench group-rush). Parameters are bound per call.
def _read_statement(shoppers: Any, groups: Any) -> Any:
    return (
        select(*GROUP_COLUMNS, *DEAL_COLUMNS, *_MEMBERSHIP_COLUMNS)
        .join(GroupDeal, GroupDeal.id == DealGroup.deal_id)
        .outerjoin(
            GroupMember,
            # Two indexed terms, so that both databases read only these rows (an OR inside an
            # AND on deal_id read every member of the deal on SQLite).
            or_(
                GroupMember.group_id == DealGroup.id,
                and_(shoppers, GroupMember.deal_id == DealGroup.deal_id),
            ),
        )
        .where(groups)
    )


# One join's read; and the batch's: every group it joins, each with the batch's joiners'
# memberships of its deal.
_READ_FOR_JOIN = _read_statement(
    GroupMember.shopper_id == bindparam("shopper_id"), DealGroup.id == bindparam("group_id")
)
_READ_FOR_BATCH = _read_statement(
    GroupMember.shopper_id.in_(bindparam("shopper_ids", expanding=True)),
    DealGroup.id.in_(bindparam("group_ids", expanding=True)),
)
_WIDTH = len(GROUP_COLUMNS) + len(DEAL_COLUMNS)
_FILLS = DealGroup.members + 1 == DealGroup.size  # SET reads the row as it was
_SEAT = (
    update(DealGroup)
    .where(
        DealGroup.id == bindparam("group_id"),
        DealGroup.status == "forming",
        DealGroup.members < DealGroup.size,
        DealGroup.expires_at > bindparam("now", type_=UTCDateTime()),
    )
    .values(
        members=DealGroup.members + 1,
        status=case((_FILLS, "succeeded"), else_=DealGroup.status),
        closed_at=case((_FILLS, bindparam("now", type_=UTCDateTime())), else_=DealGroup.closed_at),
    )
    .returning(DealGroup.members, DealGroup.status, DealGroup.closed_at)
    .execution_options(synchronize_session=False)
)
# ON CONFLICT DO NOTHING rather than a savepoint: a refused insert leaves the transaction
# usable for the read that says why, at no extra round trips when nothing conflicts.
_MEMBER = cast(Table, GroupMember.__table__)
_INSERT_MEMBER = insert_or_skip_by_dialect(_MEMBER, _MEMBER.c.id)


class Membership(NamedTuple):
    """A row of _MEMBERSHIP_COLUMNS."""

    group_id: str
    shopper_id: str
    position: int
    joined_at: datetime
    coupon_id: str | None
    device_hash: str | None
    open_deal_id: str | None
    slot: int | None

    def facts(self) -> MemberFacts:
        return MemberFacts(self.shopper_id, self.position, self.joined_at, self.coupon_id)


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A join as the API takes it: the group, the shopper, and the way they came."""

    group_id: str
    shopper_id: str
    device_hash: str | None = None  # X-Device-Hash: a second account on it cannot fill a group
    share_code: str | None = None  # X-Share-Code: the share of this group they came through
    channel: str | None = None  # X-Channel: the host, when they came through no share


def join_group(
    session: Session,
    group_id: str,
    shopper_id: str,
    *,
    device_hash: str | None = None,
    share_code: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> GroupOut:
    """Join a forming group; the N-th member's join makes it succeed at once. The join came
    through the share `share_code` (when it is a live share of this group: the membership records
    it, and its channel is the join's) or else through `channel` (arrival.py). A batch of one of
    `join_groups`.

    Errors: not_found, channel_not_allowed, group_expired, group_full (it filled, or
    succeeded), already_in_group (in this group, or in another open group of the deal),
    group_limit_reached, group_self_join (a member shares the joiner's device or host
    identity). A refused join changes nothing.
    """
    join = JoinRequest(group_id, shopper_id, device_hash, share_code, channel)
    return join_alone(session, join, now=now)


def join_alone(session: Session, join: JoinRequest, *, now: datetime | None = None) -> GroupOut:
    """`join_group` for a JoinRequest: a batch of one, its refusal raised."""
    (outcome,) = join_groups(session, [join], now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome
    return outcome


def join_groups(
    session: Session, joins: Sequence[JoinRequest], *, now: datetime | None = None
) -> list[GroupOut | KinsaveError]:
    """Every join's answer (the group as the joiner sees it, or join_group's refusal) in the
    session's one transaction: the group-join batcher's batch function (one commit, and on
    SQLite one hold of the write lock, for many joins). Each join sees the joins before it.

    A join reads everything it checks before it writes, so a refusal there wrote nothing; a
    join refused after its seat (the same shopper's join in another transaction took the
    deal's open slot first) gives its seat back and deletes its membership row before it
    answers (`success.unseat`), so it leaves nothing either, and the batch's other joins
    stand. (A SAVEPOINT per join did the same for two more round trips per join.) What the
    joins check is read once for the batch (`_BatchReads`), and so are the names and identity
    marks of everyone they meet (people.py). The joins run in group order (batches of two
    lanes or processes lock the groups' rows in the same order), and the successes of the
    groups they filled are given last (success.py).
    """
    now = now or utcnow()
    reads = _BatchReads(session, joins)
    people = People()
    people.meet(session, [*reads.shopper_ids(), *(j.shopper_id for j in joins)])
    outcomes: dict[int, GroupOut | Filled | KinsaveError] = {}
    for index in sorted(range(len(joins)), key=lambda i: joins[i].group_id):
        try:
            outcomes[index] = _join(session, joins[index], reads, people, now)
        except KinsaveError as refusal:
            outcomes[index] = refusal
    answers: dict[int, GroupOut | KinsaveError] = {}
    for index, outcome in outcomes.items():  # in group order; the successes last (success.py)
        if isinstance(outcome, Filled):
            answers[index] = give_success(session, outcome, people.names, now)
        else:
            answers[index] = outcome
    return [answers[index] for index in range(len(joins))]


def _join(
    session: Session, join: JoinRequest, reads: "_BatchReads", people: People, now: datetime
) -> GroupOut | Filled:
    via = arrival(
        session,
        share_code=join.share_code,
        channel=join.channel,
        group_id=join.group_id,
        now=now,
    )
    group, members, mine = reads.read(session, join.group_id, join.shopper_id)
    require_channel(group.channels, via.channel)
    _refuse_if_closed(group.status, group.expires_at, now, group.deal_id)
    slot = slot_or_refuse(mine, group.per_shopper_limit)
    people.refuse_self_join(session, members, join.shopper_id, join.device_hash)
    known = [m.facts() for m in members]
    seat = (slot, join.device_hash, via.share_code)
    return _seat(session, group, known, people, join.shopper_id, seat, now)


Read = tuple[GroupFacts, list[Membership], list[Membership]]  # group, members, the joiner's


class _BatchReads:
    """What each join of a batch checks: the group with its deal, its members (by position) and
    the joiner's memberships of the deal. One read for the whole batch; a join whose group or
    joiner an earlier join of the batch met reads again, to see what that join wrote."""

    def __init__(self, session: Session, joins: Sequence[JoinRequest]) -> None:
        group_ids = sorted({j.group_id for j in joins})
        shopper_ids = sorted({j.shopper_id for j in joins})
        rows = session.execute(
            _READ_FOR_BATCH, {"group_ids": group_ids, "shopper_ids": shopper_ids}
        ).all()
        self._rows: dict[str, list[Any]] = {}
        for row in rows:
            self._rows.setdefault(row[0], []).append(row)
        self._met_groups: set[str] = set()
        self._met_shoppers: set[str] = set()

    def shopper_ids(self) -> set[str]:
        """The members of the batch's groups, and the joiners with memberships of their deals."""
        return {row[_WIDTH + 1] for rows in self._rows.values() for row in rows if row[_WIDTH]}

    def read(self, session: Session, group_id: str, shopper_id: str) -> Read:
        """Errors: not_found."""
        rows: Sequence[Any] | None = self._rows.get(group_id)
        if rows is None or group_id in self._met_groups or shopper_id in self._met_shoppers:
            rows = session.execute(
                _READ_FOR_JOIN, {"group_id": group_id, "shopper_id": shopper_id}
            ).all()
        self._met_groups.add(group_id)
        self._met_shoppers.add(shopper_id)
        if not rows:
            raise KinsaveError("not_found", "no such group")
        memberships = [Membership._make(row[_WIDTH:]) for row in rows if row[_WIDTH] is not None]
        members = [m for m in memberships if m.group_id == group_id]
        mine = [m for m in memberships if m.shopper_id == shopper_id]
        return GroupFacts.of(rows[0]), sorted(members, key=lambda m: m.position), mine


def memberships(session: Session, deal_id: str, shopper_id: str) -> list[Membership]:
    rows = session.execute(
        select(*_MEMBERSHIP_COLUMNS).where(
            GroupMember.deal_id == deal_id, GroupMember.shopper_id == shopper_id
        )
    )
    return [Membership._make(row) for row in rows]


def _refuse_if_closed(status: str, expires_at: datetime, now: datetime, deal_id: str) -> None:
    if status == "succeeded":
        raise _closed("group_full", "this group is already complete", deal_id)
    if status == "failed" or expires_at <= now:
        raise _closed("group_expired", "this group's time is up", deal_id)


def _closed(code: str, message: str, deal_id: str) -> KinsaveError:
    """A refused join of a closed group says where a new group of the same deal starts."""
    return KinsaveError(
        code, message, details={"deal_id": deal_id, "new_group_path": new_group_path(deal_id)}
    )


def slot_or_refuse(mine: list[Membership], limit: int) -> int:
    """The membership slot the shopper's join will take, from their memberships of the deal.

    The friendly refusals (already_in_group, group_limit_reached); the unique keys
    (open_deal_id, shopper_id) and (deal_id, shopper_id, slot) are what guarantee them.
    """
    open_group = next((m.group_id for m in mine if m.open_deal_id), None)
    if open_group is not None:
        raise _already_in_group(open_group)
    slot = rules.free_slot({m.slot for m in mine if m.slot is not None}, limit)
    if slot is None:
        raise KinsaveError(
            "group_limit_reached", f"you can join at most {limit} groups of this deal"
        )
    return slot


def _already_in_group(group_id: str | None) -> KinsaveError:
    return KinsaveError(
        "already_in_group",
        "you are already in a group of this deal that is still forming",
        details={"group_id": group_id} if group_id else None,
    )


def _seat(
    session: Session,
    group: GroupFacts,
    known: list[MemberFacts],  # the members read before the seat, by position
    people: People,
    shopper_id: str,
    seat: Seat,
    now: datetime,
) -> GroupOut | Filled:
    """Take the group's next seat and record the membership; the N-th seat fills the group
    (its success is given at the batch's end). A refusal after the seat gives it back
    (`success.unseat`) before it is raised."""
    seated = session.execute(_SEAT, {"group_id": group.id, "now": now}).one_or_none()
    if seated is None:
        # Another join took the last seat (or the window ended) while we waited our turn.
        fresh = session.execute(
            select(DealGroup.status, DealGroup.expires_at).where(DealGroup.id == group.id)
        ).one()
        _refuse_if_closed(fresh.status, fresh.expires_at, now, group.deal_id)
        raise _closed("group_full", "this group already has all its members", group.deal_id)
    position, status, closed_at = seated
    if len(known) != position - 1:
        # Joins seated between our read and our seat: their rows are committed by now (each
        # held the group's row until its commit), so one read finds them all.
        known = _members_before(session, group.id, position)
        people.meet(session, [m.shopper_id for m in known])
    members = [*known, MemberFacts(shopper_id, position, now, None)]
    try:
        insert_member(session, group, shopper_id, (position, *seat), now)
    except KinsaveError:
        unseat(session, group.id, shopper_id, position)
        raise
    group = replace(group, members=position, status=status, closed_at=closed_at)
    if status == "succeeded":
        return Filled(group, members, shopper_id)
    return build_view(group, members, people.names, shopper_id, now)


def _members_before(session: Session, group_id: str, position: int) -> list[MemberFacts]:
    rows = session.execute(
        select(*_MEMBERSHIP_COLUMNS[1:5])
        .where(GroupMember.group_id == group_id, GroupMember.position < position)
        .order_by(GroupMember.position)
    )
    return [MemberFacts(*row) for row in rows]


def insert_member(
    session: Session,
    group: GroupFacts,
    shopper_id: str,
    place: tuple[int, int, str | None, str | None],  # (position, slot, device hash, share code)
    now: datetime,
) -> None:
    position, slot, device_hash, via_share = place
    member = {
        "group_id": group.id,
        "deal_id": group.deal_id,
        "shopper_id": shopper_id,
        "position": position,
        "open_deal_id": group.deal_id,
        "slot": slot,
        "device_hash": device_hash,
        "via_share": via_share,
        "joined_at": now,
    }
    dialect = session.get_bind().dialect.name
    inserted = session.execute(_INSERT_MEMBER[dialect], member).first()
    if inserted is None:
        # A concurrent join of the same shopper won: an open group of the deal, or the slot.
        slot_or_refuse(memberships(session, group.deal_id, shopper_id), group.per_shopper_limit)
        raise _already_in_group(None)
