"""The straightforward design that peers ship, kept apart so it is never mistaken for kinsave's.

Per request: one transaction that locks the envelope (the campaign's budget account, the coupon
template) row with SELECT ... FOR UPDATE through the ORM, checks, takes a share (a coupon), and
writes the ledger rows by loading both accounts and changing their balances. Correct, and
simple; it is the yardstick for "at least 2x the straightforward design" in issue 6. It writes
the same rows as kinsave (same transfer keys and kinds), so the same invariant checks apply.
The checkout scenario's straightforward checkout (quote, reserve, paid, refund) is in
baseline_checkout.py.
"""

import random
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import utcnow
from kinsave.envelopes.daily_rule import draw_amount
from kinsave.envelopes.models import DailyClaim, Envelope, EnvelopeShare
from kinsave.errors import KinsaveError
from kinsave.ledger.models import Account, AccountKind, Transfer

_rng = random.SystemRandom()


def grab_share(session: Session, envelope_id: str, shopper_id: str) -> int:
    """Lock the envelope, take the first open share, book it. Returns the amount."""
    now = utcnow()
    envelope = session.get(Envelope, envelope_id, with_for_update=True)
    if envelope is None:
        raise KinsaveError("not_found", "no such envelope")
    if envelope.status != "open" or envelope.expires_at <= now:
        raise KinsaveError("envelope_expired", "this envelope has expired")
    shares = session.scalars(
        select(EnvelopeShare)
        .where(EnvelopeShare.envelope_id == envelope_id)
        .order_by(EnvelopeShare.seq)
    ).all()
    if any(share.grabbed_by == shopper_id for share in shares):
        raise KinsaveError("already_grabbed", "you already grabbed a share of this envelope")
    share = next((s for s in shares if s.grabbed_by is None and s.refunded_at is None), None)
    if share is None:
        raise KinsaveError("envelope_empty", "every share of this envelope has been grabbed")
    share.grabbed_by, share.grabbed_at = shopper_id, now
    _book(
        session,
        envelope.escrow_account_id,
        _wallet(session, shopper_id, _shop_of(session, envelope.escrow_account_id)),
        share.amount,
        now,
        kind="envelope_grab",
        key=f"envelope-grab:{share.id}",
        reference=envelope_id,
    )
    return share.amount


def claim_daily(session: Session, campaign_id: str, shopper_id: str) -> int:
    """Lock the campaign's budget account, check, insert the claim, book it. Returns the amount."""
    now = utcnow()
    terms = campaigns.daily_terms(session, campaign_id, now)  # reads the campaign and its rule
    budget = session.get(Account, terms.budget_account_id, with_for_update=True)
    assert budget is not None
    local_day = now.astimezone(ZoneInfo(terms.timezone)).date()
    already = session.scalar(
        select(DailyClaim.id).where(
            DailyClaim.campaign_id == campaign_id,
            DailyClaim.shopper_id == shopper_id,
            DailyClaim.local_day == local_day,
        )
    )
    if already is not None:
        raise KinsaveError("already_claimed_today", "today's envelope is already claimed")
    amount = draw_amount(terms.rule, _rng)
    if budget.balance < amount:
        raise KinsaveError("budget_exhausted", "not enough money in the paying account")
    session.add(
        DailyClaim(
            campaign_id=campaign_id,
            shopper_id=shopper_id,
            local_day=local_day,
            amount=amount,
            created_at=now,
        )
    )
    _book(
        session,
        budget.id,
        _wallet(session, shopper_id, budget.shop_id),
        amount,
        now,
        kind="daily_claim",
        key=f"daily:{campaign_id}:{shopper_id}:{local_day.isoformat()}",
        reference=campaign_id,
    )
    return amount


def _shop_of(session: Session, account_id: int) -> str:
    shop_id: str = session.execute(
        select(Account.shop_id).where(Account.id == account_id)
    ).scalar_one()
    return shop_id


def _wallet(session: Session, shopper_id: str, shop_id: str) -> int:
    wallet = session.scalar(
        select(Account.id).where(
            Account.kind == AccountKind.WALLET.value,
            Account.owner_id == shopper_id,
            Account.shop_id == shop_id,
        )
    )
    if wallet is None:
        raise KinsaveError("not_found", "no such shopper")
    return wallet


def _book(
    session: Session,
    source_id: int,
    target_id: int,
    amount: int,
    now: datetime,
    *,
    kind: str,
    key: str,
    reference: str,
) -> None:
    shops = set()
    for account_id, delta in sorted([(source_id, -amount), (target_id, amount)]):
        account = session.get(Account, account_id, with_for_update=True)
        assert account is not None
        account.balance += delta
        shops.add(account.shop_id)
    (shop_id,) = shops
    session.add(
        Transfer(
            idempotency_key=key,
            from_account_id=source_id,
            to_account_id=target_id,
            shop_id=shop_id,
            amount=amount,
            kind=kind,
            reference=reference,
            created_at=now,
        )
    )
    session.flush()


def claim_coupon(session: Session, template_id: str, shopper_id: str) -> str:
    """Lock the coupon template, check stock and the shopper's count, insert, count it issued."""
    now = utcnow()
    template = session.get(CouponTemplate, template_id, with_for_update=True)
    if template is None:
        raise KinsaveError("not_found", "no such coupon template")
    if template.status != "active":
        raise KinsaveError("coupon_not_claimable", "this coupon cannot be claimed now")
    held = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.template_id == template_id, Coupon.shopper_id == shopper_id)
    )
    if (held or 0) >= template.per_shopper_limit:
        raise KinsaveError("coupon_limit_reached", "you already hold as many as allowed")
    if template.issued >= template.stock:
        raise KinsaveError("coupon_sold_out", "every coupon of this kind has been claimed")
    coupon = Coupon(
        id="cpn_" + secrets.token_hex(8),
        template_id=template_id,
        shop_id=template.shop_id,
        shopper_id=shopper_id,
        slot=(held or 0) + 1,
        state="available",
        claimed_at=now,
        expires_at=now + timedelta(days=template.valid_days or 30),
    )
    session.add(coupon)
    template.issued += 1
    session.flush()
    return coupon.id
