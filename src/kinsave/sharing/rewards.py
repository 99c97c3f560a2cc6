"""Referral rewards: held on a referred paid order, paid after the hold, clawed back on refunds.

Money: campaign budget -> REWARD_HOLD (one account per campaign) when the order is paid;
REWARD_HOLD -> the sharer's wallet after the hold period (the refund period); on a refund the
part no longer earned returns to the budget (from the hold, or from the wallet once paid).
Exactly once: one reward per (shop, order) by a unique constraint; release is a conditional
UPDATE ... WHERE status = 'held'; every transfer's key names its business event.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.db import insert_on_conflict
from kinsave.errors import KinsaveError
from kinsave.ledger import keys
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from kinsave.sharing.models import ReferralDayCount, ReferralReward, Share
from kinsave.sharing.schemas import ReferralRuleIn, ReleaseReport
from kinsave.sharing.touches import kept_reward


class _NoReward(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True)
class HeldReward:
    reward_id: int | None
    amount: int
    reason: str | None


def hold_reward(
    session: Session,
    *,
    share: Share,
    rule: ReferralRuleIn,
    order_id: str,
    buyer_id: str,
    amount_paid: int,
    now: datetime,
) -> HeldReward:
    """Book the sharer's reward for this order into the hold, or say why not: daily_cap,
    budget_exhausted. Nothing is half done: the cap slot and the transfer share a savepoint."""
    assert share.campaign_id is not None
    campaign = campaigns.find_campaign(session, share.campaign_id)
    assert campaign is not None
    local_day = now.astimezone(ZoneInfo(campaign.timezone)).date()
    try:
        with session.begin_nested():
            _take_cap_slot(session, share.campaign_id, share.sharer_id, local_day, rule.daily_cap)
            try:
                ledger.transfer(
                    session,
                    from_account_id=campaign.budget_account_id,
                    to_account_id=_hold_account(session, share.campaign_id),
                    amount=rule.amount,
                    kind="referral_hold",
                    key=keys.referral_hold(share.shop_id, order_id),
                    reference=order_id,
                    insufficient_code="budget_exhausted",
                    now=now,
                )
            except KinsaveError as error:
                raise _NoReward(error.code) from error
            reward = _new_reward(share, rule, order_id, buyer_id, amount_paid, now)
            session.add(reward)
            session.flush()
    except _NoReward as refusal:
        return HeldReward(reward_id=None, amount=0, reason=refusal.reason)
    return HeldReward(reward_id=reward.id, amount=rule.amount, reason=None)


def _new_reward(
    share: Share,
    rule: ReferralRuleIn,
    order_id: str,
    buyer_id: str,
    amount_paid: int,
    now: datetime,
) -> ReferralReward:
    assert share.campaign_id is not None
    return ReferralReward(
        shop_id=share.shop_id,
        order_id=order_id,
        campaign_id=share.campaign_id,
        share_code=share.code,
        channel=share.channel,
        sharer_id=share.sharer_id,
        buyer_id=buyer_id,
        amount=rule.amount,
        order_amount=amount_paid,
        refunded_amount=0,
        clawed_back=0,
        unrecovered=0,
        status="held",
        created_at=now,
        release_at=now + timedelta(seconds=rule.hold_seconds),
    )


def _take_cap_slot(
    session: Session, campaign_id: str, sharer_id: str, local_day: date, cap: int
) -> None:
    session.execute(
        insert_on_conflict(session, ReferralDayCount)
        .values(campaign_id=campaign_id, sharer_id=sharer_id, local_day=local_day, count=0)
        .on_conflict_do_nothing(index_elements=["campaign_id", "sharer_id", "local_day"])
    )
    taken = session.execute(
        update(ReferralDayCount)
        .where(
            ReferralDayCount.campaign_id == campaign_id,
            ReferralDayCount.sharer_id == sharer_id,
            ReferralDayCount.local_day == local_day,
            ReferralDayCount.count < cap,
        )
        .values(count=ReferralDayCount.count + 1)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise _NoReward("daily_cap")


def _hold_account(session: Session, campaign_id: str) -> int:
    return ledger.open_account(
        session, AccountKind.REWARD_HOLD, campaign_id, _campaign_shop(session, campaign_id)
    )


def _campaign_shop(session: Session, campaign_id: str) -> str:
    """The shop whose campaign pays the reward: its credit is what the sharer earns."""
    campaign = campaigns.find_campaign(session, campaign_id)
    assert campaign is not None
    return campaign.shop_id


def reward_for_order(session: Session, shop_id: str, order_id: str) -> ReferralReward | None:
    return session.execute(
        select(ReferralReward).where(
            ReferralReward.shop_id == shop_id, ReferralReward.order_id == order_id
        )
    ).scalar_one_or_none()


def claw_back(session: Session, reward_id: int, refunded_amount: int, now: datetime) -> int:
    """Take back the part of a reward a refund unearns (see touches.kept_reward). Returns the
    amount taken back from the hold or the wallet; a wallet that cannot cover it gives what it
    has and the rest is recorded as `unrecovered` (no wallet ever goes negative)."""
    reward = session.execute(
        select(ReferralReward)
        .where(ReferralReward.id == reward_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    reward.refunded_amount = min(reward.order_amount, reward.refunded_amount + refunded_amount)
    target = reward.amount - kept_reward(reward.amount, reward.order_amount, reward.refunded_amount)
    delta = target - reward.clawed_back
    if delta <= 0:
        session.flush()
        return 0
    budget = _budget_account(session, reward.campaign_id)
    if reward.status == "held":
        source, recovered = _hold_account(session, reward.campaign_id), delta
    else:
        source = ledger.wallet_account(
            session, reward.sharer_id, _campaign_shop(session, reward.campaign_id)
        )
        recovered = min(delta, ledger.balance(session, source))
    if recovered > 0:
        ledger.transfer(
            session,
            from_account_id=source,
            to_account_id=budget,
            amount=recovered,
            kind="referral_clawback",
            key=keys.referral_clawback(reward.id, target),
            reference=reward.order_id,
            now=now,
        )
    reward.clawed_back = target
    reward.unrecovered += delta - recovered
    if reward.status == "held" and target == reward.amount:
        reward.status = "reversed"
    session.flush()
    return recovered


def _budget_account(session: Session, campaign_id: str) -> int:
    campaign = campaigns.find_campaign(session, campaign_id)
    assert campaign is not None
    return campaign.budget_account_id


def due_rewards(session: Session, now: datetime, limit: int = 200) -> list[int]:
    return list(
        session.execute(
            select(ReferralReward.id)
            .where(ReferralReward.status == "held", ReferralReward.release_at <= now)
            .order_by(ReferralReward.release_at, ReferralReward.id)
            .limit(limit)
        ).scalars()
    )


def release_reward(session: Session, reward_id: int, now: datetime) -> int | None:
    """Pay one held reward whose hold has ended into the sharer's wallet. Returns the amount
    paid, or None if another sweeper (or a full refund) got there first. Exactly once."""
    row = session.execute(
        update(ReferralReward)
        .where(
            ReferralReward.id == reward_id,
            ReferralReward.status == "held",
            ReferralReward.release_at <= now,
        )
        .values(status="paid", paid_at=now)
        .returning(
            ReferralReward.amount - ReferralReward.clawed_back,
            ReferralReward.campaign_id,
            ReferralReward.sharer_id,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    payable, campaign_id, sharer_id = int(row[0]), row[1], row[2]
    if payable > 0:
        ledger.transfer(
            session,
            from_account_id=_hold_account(session, campaign_id),
            to_account_id=ledger.wallet_account(
                session, sharer_id, _campaign_shop(session, campaign_id)
            ),
            amount=payable,
            kind="referral_reward",
            key=keys.referral_release(reward_id),
            reference=campaign_id,
            now=now,
        )
    return payable


def release_due_rewards(session: Session, now: datetime, limit: int = 200) -> ReleaseReport:
    """Release every reward due at `now` (up to `limit`) in this session; safe to run in several
    processes at once, each reward is paid exactly once."""
    report = ReleaseReport()
    for reward_id in due_rewards(session, now, limit):
        paid = release_reward(session, reward_id, now)
        if paid is not None:
            report.released += 1
            report.paid_amount += paid
    return report
