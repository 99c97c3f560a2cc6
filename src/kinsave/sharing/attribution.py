"""Attribution: which share brought an order, and the sharer's referral reward for it.

The store's checkout reports each paid order (and refund); the integrator calls these two
functions from the checkout's `paid` and `refund` calls, inside the same unit of work.
"""

from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, func, or_, select
from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError
from kinsave.sharing import campaign_setup, rewards, tokens
from kinsave.sharing.events import record_event
from kinsave.sharing.models import Share, SharingEvent
from kinsave.sharing.schemas import AttributionOut, CampaignSharingIn
from kinsave.sharing.touches import Touch, choose_touch

TOUCH_KINDS = ("token_resolved", "link_opened")
MAX_WINDOW = timedelta(days=90)  # the longest window a campaign may set (schemas)


def attribute_order(
    session: Session,
    *,
    shop_id: str,
    order_id: str,
    shopper_id: str,
    amount_paid: int,
    attribution: str | None,
    now: datetime,
    coupon_cost: int = 0,
) -> AttributionOut | None:
    """Record the paid order, attribute it to a share and hold the sharer's reward.

    `coupon_cost` (the order's coupon discount) is booked against the share's channel for the
    funnel when the order is attributed.

    `attribution` is the handle the store got from resolve (a code) or any text holding a token.
    Touches: that handle plus the buyer's own earlier opens and resolves; each counts within its
    campaign's window, and the campaign's model (last touch by default) picks one. Returns None
    when no share counts. The reward depends only on this purchase; none for self-referral
    (same shopper, device hash or channel identity), past the sharer's daily cap or when the
    budget is spent (`reason` says which). Idempotent per (shop, order): a repeat call books
    nothing and returns the first attribution. Errors: invalid_amount.
    """
    if amount_paid < 0:
        raise KinsaveError("invalid_amount", "amount_paid cannot be negative")
    dedupe_key = f"order_paid:{shop_id}:{order_id}"
    # No read of the dedupe key first: the event's INSERT ... ON CONFLICT below decides (a
    # repeat records nothing and replays), one statement less on every paid order.
    chosen = _chosen_share(session, shop_id, shopper_id, attribution, now)
    recorded = record_event(
        session,
        kind="order_paid",
        shop_id=shop_id,
        share_code=chosen[0].code if chosen else None,
        shopper_id=shopper_id,
        order_id=order_id,
        amount=amount_paid,
        dedupe_key=dedupe_key,
        occurred_at=now,
    )
    if not recorded:  # reported before, or a concurrent report of the same order won
        return _replay(session, shop_id, order_id, dedupe_key)
    if chosen is None:
        return None
    share, setup = chosen
    if coupon_cost > 0:
        record_event(
            session,
            kind="coupon_redeemed",
            shop_id=shop_id,
            share_code=share.code,
            shopper_id=shopper_id,
            order_id=order_id,
            amount=coupon_cost,
            dedupe_key=f"coupon_redeemed:{shop_id}:{order_id}",
            occurred_at=now,
        )
    return _reward(session, share, setup, order_id, shopper_id, amount_paid, now)


def _reward(
    session: Session,
    share: Share,
    setup: CampaignSharingIn,
    order_id: str,
    buyer_id: str,
    amount_paid: int,
    now: datetime,
) -> AttributionOut:
    reason = _refusal(session, share, setup, buyer_id, amount_paid)
    if reason is not None or setup.referral is None:
        return _answer(order_id, share, setup, None, 0, reason)
    held = rewards.hold_reward(
        session,
        share=share,
        rule=setup.referral,
        order_id=order_id,
        buyer_id=buyer_id,
        amount_paid=amount_paid,
        now=now,
    )
    return _answer(order_id, share, setup, held.reward_id, held.amount, held.reason)


def _answer(
    order_id: str,
    share: Share,
    setup: CampaignSharingIn,
    reward_id: int | None,
    reward_amount: int,
    reason: str | None,
) -> AttributionOut:
    """An attributed order's answer, built the same way when it is made and when a report of
    the same order is answered again (_replay)."""
    return AttributionOut(
        order_id=order_id,
        share_code=share.code,
        sharer_id=share.sharer_id,
        campaign_id=share.campaign_id,
        channel=share.channel,
        model=setup.attribution_model,
        reward_id=reward_id,
        reward_amount=reward_amount,
        reward_status="held" if reward_id is not None else "none",
        reason=reason,
    )


def reverse_order(
    session: Session, *, shop_id: str, order_id: str, refunded_amount: int, now: datetime
) -> None:
    """Record a refund of `refunded_amount` (this refund, not the running total) and claw back
    exactly the part of the order's reward it unearns: the sharer keeps
    floor(reward * (paid - refunded so far) / paid); a full refund takes it all back. Held
    money returns from the hold; paid money from the sharer's wallet as far as it goes, the rest
    recorded as unrecovered. Each call is one refund: the checkout makes its refund call
    idempotent. Errors: invalid_amount.
    """
    if refunded_amount <= 0:
        raise KinsaveError("invalid_amount", "a refund is a positive amount")
    reward = rewards.reward_for_order(session, shop_id, order_id)
    order_event = _order_event(session, f"order_paid:{shop_id}:{order_id}")
    record_event(
        session,
        kind="order_refunded",
        shop_id=shop_id,
        share_code=order_event.share_code if order_event else None,
        shopper_id=order_event.shopper_id if order_event else None,
        order_id=order_id,
        amount=refunded_amount,
        occurred_at=now,
    )
    if reward is not None:
        rewards.claw_back(session, reward.id, refunded_amount, now)


def _refusal(
    session: Session, share: Share, setup: CampaignSharingIn, buyer_id: str, amount_paid: int
) -> str | None:
    if share.campaign_id is None or setup.referral is None:
        return "no_referral_reward"
    if amount_paid <= 0:
        return "nothing_paid"
    if _is_self_referral(session, share, buyer_id):
        return "self_referral"
    return None


def _chosen_share(
    session: Session, shop_id: str, shopper_id: str, handle: str | None, now: datetime
) -> tuple[Share, CampaignSharingIn] | None:
    touches: list[Touch] = []
    setups: dict[str, CampaignSharingIn] = {}
    shares: dict[str, Share] = {}

    def add(code: str, at: datetime) -> None:
        share = shares.get(code) or session.get(Share, code)
        if share is None or share.shop_id != shop_id:
            return
        shares[code] = share
        setup = _setup(session, share, setups)
        touches.append(Touch(code, at, timedelta(seconds=setup.window_seconds)))

    code = tokens.handle_code(handle) if handle else None
    if code is not None:
        add(code, _handle_touched_at(session, code, now))
    for event_code, at in _buyer_touches(session, shop_id, shopper_id, now):
        add(event_code, at)
    if not touches:
        return None
    # The model is the campaign's of the handle (the store's word) or of the latest touch.
    lead = (
        touches[0]
        if code is not None and touches[0].code == code
        else max(touches, key=lambda t: t.at)
    )
    model = _setup(session, shares[lead.code], setups).attribution_model
    chosen = choose_touch(touches, now, model)
    if chosen is None:
        return None
    share = shares[chosen.code]
    return share, _setup(session, share, setups)


def _setup(
    session: Session, share: Share, cache: dict[str, CampaignSharingIn]
) -> CampaignSharingIn:
    key = share.campaign_id or ""
    if key not in cache:
        cache[key] = (
            campaign_setup.setup_of(session, share.campaign_id)
            if share.campaign_id
            else CampaignSharingIn()
        )
    return cache[key]


def _handle_touched_at(session: Session, code: str, now: datetime) -> datetime:
    """When the handle was last opened or resolved by a person; its creation if never."""
    latest = session.execute(
        select(func.max(SharingEvent.occurred_at)).where(
            SharingEvent.share_code == code,
            SharingEvent.kind.in_(TOUCH_KINDS),
            SharingEvent.is_bot.is_(False),
            SharingEvent.occurred_at <= now,
        )
    ).scalar_one_or_none()
    if latest is not None:
        return _aware(latest)
    share = session.get(Share, code)
    assert share is not None
    return share.created_at


# Built once, on the table, and run on the session's connection: every paid order reads it, and
# building it per call, then the ORM's execution layer, cost more than running it (a third of
# paid's CPU; docs/benchmarks.md, "Sixth round: checkout"). Events are only ever written by
# record_event's statement, never left pending in the Session, so no autoflush is needed.
_EVENT = cast(Table, SharingEvent.__table__)
_BUYER_TOUCHES = (
    select(_EVENT.c.share_code, _EVENT.c.occurred_at)
    .where(
        _EVENT.c.shop_id == bindparam("p_shop"),
        _EVENT.c.shopper_id == bindparam("p_shopper"),
        _EVENT.c.kind.in_(TOUCH_KINDS),
        _EVENT.c.is_bot.is_(False),
        _EVENT.c.share_code.is_not(None),
        _EVENT.c.occurred_at <= bindparam("p_now"),
        _EVENT.c.occurred_at >= bindparam("p_since"),
    )
    .order_by(_EVENT.c.occurred_at, _EVENT.c.id)
)


def _buyer_touches(
    session: Session, shop_id: str, shopper_id: str, now: datetime
) -> list[tuple[str, datetime]]:
    params = {"p_shop": shop_id, "p_shopper": shopper_id, "p_now": now, "p_since": now - MAX_WINDOW}
    rows = session.connection().execute(_BUYER_TOUCHES, params)
    return [(str(code), at) for code, at in rows]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _is_self_referral(session: Session, share: Share, buyer_id: str) -> bool:
    """Same shopper, or a device hash or channel identity seen on both (recorded with events)."""
    if share.sharer_id == buyer_id:
        return True
    marks = identity_marks(session, [share.sharer_id, buyer_id])
    if share.device_hash:
        marks[share.sharer_id].add("d:" + share.device_hash)
    return bool(marks[share.sharer_id] & marks[buyer_id])


# Built once: every group join runs it (bench group-rush); building it cost more than running it.
_IDENTITY_MARKS = (
    select(SharingEvent.shopper_id, SharingEvent.device_hash, SharingEvent.channel_identity)
    .where(
        SharingEvent.shopper_id.in_(bindparam("shopper_ids", expanding=True)),
        or_(SharingEvent.device_hash.is_not(None), SharingEvent.channel_identity.is_not(None)),
    )
    .distinct()
)


def identity_marks(session: Session, shopper_ids: list[str]) -> dict[str, set[str]]:
    """The device hashes ("d:...") and channel identities ("i:...") each shopper was seen with
    (recorded with sharing events): two shoppers sharing a mark are one person behind two
    accounts. Self-referral and group self-join checks compare these."""
    marks: dict[str, set[str]] = {shopper_id: set() for shopper_id in shopper_ids}
    rows = session.execute(_IDENTITY_MARKS, {"shopper_ids": shopper_ids})
    for shopper, device, identity in rows:
        if shopper is None:
            continue
        if device:
            marks[shopper].add("d:" + device)
        if identity:
            marks[shopper].add("i:" + identity)
    return marks


def _order_event(session: Session, dedupe_key: str) -> SharingEvent | None:
    return session.execute(
        select(SharingEvent).where(SharingEvent.dedupe_key == dedupe_key)
    ).scalar_one_or_none()


def _replay(
    session: Session, shop_id: str, order_id: str, dedupe_key: str
) -> AttributionOut | None:
    event = _order_event(session, dedupe_key)
    share = session.get(Share, event.share_code) if event and event.share_code else None
    if share is None:
        return None
    reward = rewards.reward_for_order(session, shop_id, order_id)
    setup = _setup(session, share, {})
    if reward is None:
        return _answer(order_id, share, setup, None, 0, "already_attributed")
    return _answer(order_id, share, setup, reward.id, reward.amount, None)
