"""What a shopper sees of a group: its members, what it still needs, its time left.

Views read plain rows of these columns, not ORM objects: building the answer through the ORM's
loading was over a third of a join's time (bench group-rush). A join builds its answer from the
rows it already read (joining.py) with `build_view`; a page reads them with `group_view`.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import rules
from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from kinsave.groups.schemas import GroupOut, MemberOut, MyGroupsOut

MY_GROUPS_SHOWN = 50

GROUP_COLUMNS = (
    DealGroup.id,
    DealGroup.deal_id,
    DealGroup.size,
    DealGroup.members,
    DealGroup.status,
    DealGroup.created_at,
    DealGroup.expires_at,
    DealGroup.closed_at,
)
DEAL_COLUMNS = (
    GroupDeal.shop_id,
    GroupDeal.sku,
    GroupDeal.title,
    GroupDeal.regular_price,
    GroupDeal.group_price,
    GroupDeal.channels,
    GroupDeal.per_shopper_limit,
    GroupDeal.template_id,
)
MEMBER_COLUMNS = (
    GroupMember.group_id,
    GroupMember.shopper_id,
    GroupMember.position,
    GroupMember.joined_at,
    GroupMember.coupon_id,
)


@dataclass(frozen=True)
class GroupFacts:
    """A group's row as of one moment (a read, or the seat's RETURNING) with its deal's terms."""

    id: str
    deal_id: str
    size: int
    members: int
    status: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    shop_id: str
    sku: str
    title: str
    regular_price: int
    group_price: int
    channels: list[str]
    per_shopper_limit: int
    template_id: str

    @classmethod
    def of(cls, row: Any) -> "GroupFacts":
        """From a row of GROUP_COLUMNS + DEAL_COLUMNS."""
        return cls(*(row[i] for i in range(len(GROUP_COLUMNS) + len(DEAL_COLUMNS))))


@dataclass(frozen=True)
class MemberFacts:
    shopper_id: str
    position: int
    joined_at: datetime
    coupon_id: str | None


def group_view(
    session: Session, group_id: str, viewer_id: str | None, now: datetime | None = None
) -> GroupOut:
    """The group with its members, what it still needs and its time left. Errors: not_found."""
    now = now or utcnow()
    row = session.execute(
        select(*GROUP_COLUMNS, *DEAL_COLUMNS)
        .join(GroupDeal, GroupDeal.id == DealGroup.deal_id)
        .where(DealGroup.id == group_id)
    ).first()
    if row is None:
        raise KinsaveError("not_found", "no such group")
    return _views(session, [GroupFacts.of(row)], viewer_id, now)[0]


def my_groups(session: Session, shopper_id: str, now: datetime | None = None) -> MyGroupsOut:
    """The groups the shopper is or was in, newest first."""
    now = now or utcnow()
    rows = session.execute(
        select(*GROUP_COLUMNS, *DEAL_COLUMNS)
        .join(GroupDeal, GroupDeal.id == DealGroup.deal_id)
        .join(GroupMember, GroupMember.group_id == DealGroup.id)
        .where(GroupMember.shopper_id == shopper_id)
        .order_by(DealGroup.created_at.desc(), DealGroup.id)
        .limit(MY_GROUPS_SHOWN)
    ).all()
    return MyGroupsOut(groups=_views(session, [GroupFacts.of(r) for r in rows], shopper_id, now))


def _views(
    session: Session, groups: list[GroupFacts], viewer_id: str | None, now: datetime
) -> list[GroupOut]:
    ids = [g.id for g in groups]
    members: dict[str, list[MemberFacts]] = {group_id: [] for group_id in ids}
    for row in session.execute(
        select(*MEMBER_COLUMNS).where(GroupMember.group_id.in_(ids)).order_by(GroupMember.position)
    ):
        members[row.group_id].append(MemberFacts(*row[1:]))
    names = auth.display_names(session, [m.shopper_id for rows in members.values() for m in rows])
    return [build_view(g, members[g.id], names, viewer_id, now) for g in groups]


def build_view(
    group: GroupFacts,
    members: list[MemberFacts],
    names: dict[str, str],
    viewer_id: str | None,
    now: datetime,
) -> GroupOut:
    """The answer for `group` and its `members` (by position), as the viewer sees it."""
    mine = next((m for m in members if m.shopper_id == viewer_id), None)
    status = rules.shown_status(group.status, group.expires_at, now)
    return GroupOut(
        id=group.id,
        deal_id=group.deal_id,
        shop_id=group.shop_id,
        sku=group.sku,
        title=group.title,
        regular_price=group.regular_price,
        group_price=group.group_price,
        status=status,
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
        new_group_path=None if status == "forming" else new_group_path(group.deal_id),
    )


def new_group_path(deal_id: str) -> str:
    """Where a new group of the deal starts: what a full or failed group points to."""
    return f"/v1/group-deals/{deal_id}/groups"
