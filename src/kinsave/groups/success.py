"""A group's success, given at the end of the batch that filled it: a set_price coupon for every
member, their open group closed, the `group.succeeded` webhook.

The seat UPDATE of the N-th join already flipped the group to `succeeded`; what follows takes
the deal's coupon template's row (its `issued` counter), which every success of the deal takes.
A batch gives its successes last, so that it holds that row only from its last statements to
its commit: batches of several lanes then wait for each other there only briefly, and never
while holding a row the other needs first (groups' rows come before the template's).
"""

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, case, delete, update
from sqlalchemy.orm import Session

from kinsave.coupons import entitlements
from kinsave.errors import KinsaveError
from kinsave.groups.models import DealGroup, GroupMember
from kinsave.groups.schemas import GroupOut
from kinsave.groups.views import GroupFacts, MemberFacts, build_view
from kinsave.webhooks import service as webhooks

_UNSEAT = (
    update(DealGroup)
    .where(DealGroup.id == bindparam("group_id"))
    .values(members=DealGroup.members - 1, status="forming", closed_at=None)
    .execution_options(synchronize_session=False)
)
_DELETE_MEMBER = (
    delete(GroupMember)
    .where(
        GroupMember.group_id == bindparam("group_id"),
        GroupMember.shopper_id == bindparam("shopper_id"),
        GroupMember.position == bindparam("position"),
    )
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class Filled:
    """A group this batch filled, its success still to give: the N-th join's answer waits."""

    group: GroupFacts  # as the seat left it: succeeded
    members: list[MemberFacts]  # by position, the N-th last
    shopper_id: str  # the N-th member


def give_success(
    session: Session, filled: Filled, names: dict[str, str], now: datetime
) -> GroupOut | KinsaveError:
    """The N-th join's answer once the success is given, or its refusal (grant_set_price's:
    not_found, coupon_sold_out) with its seat given back, nothing written."""
    group, shopper_id = filled.group, filled.shopper_id
    try:
        members = _grant(session, group, filled.members, now)
    except KinsaveError as refusal:
        unseat(session, group.id, shopper_id, group.members)
        return refusal
    return build_view(group, members, names, shopper_id, now)


def unseat(session: Session, group_id: str, shopper_id: str, position: int) -> None:
    """Give back a seat this transaction took (it holds the group's row, so the seat is the
    last taken): the group forming again with one member less, the membership row (if it was
    written) gone. Nothing else was written for it: a refused insert or grant writes nothing."""
    member = {"group_id": group_id, "shopper_id": shopper_id, "position": position}
    session.execute(_DELETE_MEMBER, member)
    session.execute(_UNSEAT, {"group_id": group_id})


def _grant(
    session: Session, group: GroupFacts, members: list[MemberFacts], now: datetime
) -> list[MemberFacts]:
    """Errors: those of grant_set_price, raised before anything is written."""
    shoppers = [m.shopper_id for m in members]
    given = entitlements.grant_set_price(session, group.template_id, shoppers, now)
    session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == group.id)
        .values(open_deal_id=None, coupon_id=case(given, value=GroupMember.shopper_id))
        .execution_options(synchronize_session=False)
    )
    webhooks.enqueue(
        session,
        group.shop_id,
        "group.succeeded",
        {
            "group_id": group.id,
            "deal_id": group.deal_id,
            "sku": group.sku,
            "group_price": group.group_price,
            "succeeded_at": now.isoformat(),
            "members": [{"shopper_id": s, "coupon_id": given[s]} for s in shoppers],
        },
    )
    return [replace(m, coupon_id=given[m.shopper_id]) for m in members]
