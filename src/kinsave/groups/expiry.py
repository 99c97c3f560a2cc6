"""Failing the groups whose window ended before they filled: units back, nobody charged.

Exactly once, even with several sweepers: only the runner whose conditional UPDATE flips the
group from forming to failed gives its units back and writes the `group.failed` webhook. That
UPDATE and a join's seat UPDATE (`expires_at > now`, still forming) touch the same row, so a
group either fills inside its window or fails, never both.
"""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from kinsave.webhooks import service as webhooks


def due_for_failure(session: Session, now: datetime, limit: int = 200) -> list[str]:
    rows = session.execute(
        select(DealGroup.id)
        .where(DealGroup.status == "forming", DealGroup.expires_at <= now)
        .order_by(DealGroup.expires_at, DealGroup.id)
        .limit(limit)
    )
    return [row[0] for row in rows]


def fail_group(session: Session, group_id: str, now: datetime) -> int | None:
    """Fail a forming group past its window: its units go back to the deal's stock, its members
    are free to start or join another group (their slots too), and the store gets
    `group.failed`. Returns the units given back, or None when it was not (or no longer) due."""
    failed = session.execute(
        update(DealGroup)
        .where(
            DealGroup.id == group_id,
            DealGroup.status == "forming",
            DealGroup.expires_at <= now,
        )
        .values(status="failed", closed_at=now)
        .returning(DealGroup.deal_id, DealGroup.shop_id, DealGroup.size)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if failed is None:
        return None
    deal_id, shop_id, size = failed
    session.execute(
        update(GroupDeal)
        .where(GroupDeal.id == deal_id)
        .values(units_taken=GroupDeal.units_taken - size)
        .execution_options(synchronize_session=False)
    )
    members = session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == group_id)
        .values(open_deal_id=None, slot=None)
        .returning(GroupMember.shopper_id)
        .execution_options(synchronize_session=False)
    ).scalars()
    webhooks.enqueue(
        session,
        shop_id,
        "group.failed",
        {
            "group_id": group_id,
            "deal_id": deal_id,
            "failed_at": now.isoformat(),
            "units_returned": size,
            "members": sorted(members),
        },
    )
    return int(size)
