"""The funnel's events: the public way every package reports a step of a share's journey.

Kinds: share_created, link_opened, token_resolved, coupon_claimed_via_share, coupon_redeemed
(the coupon discount of an attributed order: the funnel's coupon cost), store_visit,
order_paid, order_refunded. Bot opens are stored flagged, so they can be audited but never counted.
"""

from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from kinsave.db import insert_or_skip_by_dialect, utcnow
from kinsave.sharing import tokens
from kinsave.sharing.models import Share, SharingEvent
from kinsave.sharing.schemas import StoreVisitIn, StoreVisitOut

EVENT_KINDS = frozenset(
    {
        "share_created",
        "link_opened",
        "token_resolved",
        "coupon_claimed_via_share",
        "coupon_redeemed",
        "store_visit",
        "order_paid",
        "order_refunded",
    }
)


# Built once per database, on the table: every paid and refunded order records its event, and
# building the ORM insert per call (values, cache key) cost more CPU than running it
# (docs/benchmarks.md, "Sixth round: checkout"). A NULL dedupe_key never conflicts.
_EVENT = cast(Table, SharingEvent.__table__)
_INSERT = insert_or_skip_by_dialect(_EVENT, _EVENT.c.id, index_elements=["dedupe_key"])


def record_event(
    session: Session,
    *,
    kind: str,
    shop_id: str,
    share_code: str | None = None,
    campaign_id: str | None = None,
    channel: str | None = None,
    shopper_id: str | None = None,
    order_id: str | None = None,
    amount: int = 0,
    is_bot: bool = False,
    device_hash: str | None = None,
    channel_identity: str | None = None,
    dedupe_key: str | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """Record one event; returns False when `dedupe_key` was recorded before (nothing written).

    The share's campaign and channel fill in what the caller leaves out; a code of another shop
    is dropped rather than trusted. Raises ValueError for an unknown kind (a programming error).
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown sharing event kind {kind!r}")
    if share_code is not None:
        share = session.get(Share, share_code)
        if share is None or share.shop_id != shop_id:
            share_code = None
        else:
            campaign_id = campaign_id or share.campaign_id
            channel = channel or share.channel
    row = {
        "kind": kind,
        "shop_id": shop_id,
        "campaign_id": campaign_id,
        "channel": channel,
        "shopper_id": shopper_id,
        "share_code": share_code,
        "order_id": order_id,
        "amount": amount,
        "is_bot": is_bot,
        "device_hash": device_hash,
        "channel_identity": channel_identity,
        "dedupe_key": dedupe_key,
        "occurred_at": occurred_at or utcnow(),
    }
    statement = _INSERT[session.get_bind().dialect.name]
    # RETURNING, not rowcount: a skipped conflict returns no row on every backend.
    return session.execute(statement, row).first() is not None


def record_store_visit(
    session: Session, shop_id: str, data: StoreVisitIn, now: datetime
) -> StoreVisitOut:
    """Count a store visit for the funnel. A handle that names no share of this shop is recorded
    without a share (it counts for nobody) rather than refused: a visit is a fact, not a claim."""
    code = tokens.handle_code(data.attribution)
    recorded_code = code if code and _shop_share_exists(session, code, shop_id) else None
    record_event(
        session,
        kind="store_visit",
        shop_id=shop_id,
        share_code=recorded_code,
        shopper_id=data.shopper_id,
        device_hash=data.device_hash,
        occurred_at=now,
    )
    return StoreVisitOut(share_code=recorded_code)


def _shop_share_exists(session: Session, code: str, shop_id: str) -> bool:
    share = session.get(Share, code)
    return share is not None and share.shop_id == shop_id
