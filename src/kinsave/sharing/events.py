"""The funnel's events: the public way every package reports a step of a share's journey.

Kinds: share_created, link_opened, token_resolved, coupon_claimed_via_share, coupon_redeemed
(the coupon discount of an attributed order: the funnel's coupon cost), store_visit,
order_paid, order_refunded. Bot opens are stored flagged, so they can be audited but never counted.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from kinsave.db import insert_on_conflict, utcnow
from kinsave.sharing.models import Share, SharingEvent

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
    statement = insert_on_conflict(session, SharingEvent).values(
        kind=kind,
        shop_id=shop_id,
        campaign_id=campaign_id,
        channel=channel,
        shopper_id=shopper_id,
        share_code=share_code,
        order_id=order_id,
        amount=amount,
        is_bot=is_bot,
        device_hash=device_hash,
        channel_identity=channel_identity,
        dedupe_key=dedupe_key,
        occurred_at=occurred_at or utcnow(),
    )
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING, not rowcount: a skipped conflict returns no row on every backend.
    return session.execute(statement.returning(SharingEvent.id)).first() is not None
