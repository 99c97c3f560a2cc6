"""The daily red envelope: once per shopper per campaign per local calendar day.

A claim is a row unique per (campaign, shopper, local day), inserted before the budget pays; the
payment is a ledger transfer keyed `daily:<campaign>:<shopper>:<day>` whose conditional debit
refuses to overdraw the budget. The rush takes the batched twin of `claim_daily`
(daily_fastpath.py), which falls back to it.
"""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.envelopes.daily_rule import draw_amount
from kinsave.envelopes.models import DailyClaim
from kinsave.envelopes.schemas import DailyClaimOut, DailyStatusOut
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger

_system_random = random.SystemRandom()


def claim_daily(
    session: Session,
    campaign_id: str,
    shopper_id: str,
    *,
    rng: random.Random = _system_random,
    now: datetime | None = None,
) -> DailyClaimOut:
    """Today's red envelope: once per shopper per campaign per local calendar day.

    Errors: not_found, campaign_not_active, campaign_has_no_daily_envelope,
    already_claimed_today, budget_exhausted (the budget never overdraws).
    """
    now = now or utcnow()
    terms = campaigns.daily_terms(session, campaign_id, now)
    local_day = now.astimezone(ZoneInfo(terms.timezone)).date()
    amount = draw_amount(terms.rule, rng)
    try:
        session.execute(
            insert(DailyClaim).values(
                campaign_id=campaign_id,
                shopper_id=shopper_id,
                local_day=local_day,
                amount=amount,
                created_at=now,
            )
        )
    except IntegrityError as error:
        raise KinsaveError(
            "already_claimed_today", "today's envelope is already claimed"
        ) from error
    ledger.transfer(
        session,
        from_account_id=terms.budget_account_id,
        to_account_id=ledger.wallet_account(session, shopper_id, terms.shop_id),
        amount=amount,
        kind="daily_claim",
        key=f"daily:{campaign_id}:{shopper_id}:{local_day.isoformat()}",
        reference=campaign_id,
        insufficient_code="budget_exhausted",
        now=now,
    )
    return DailyClaimOut(
        campaign_id=campaign_id, amount=amount, local_day=local_day, claimed_at=now
    )


def daily_status(
    session: Session, campaign_id: str, shopper_id: str, now: datetime | None = None
) -> DailyStatusOut:
    now = now or utcnow()
    terms = campaigns.daily_terms(session, campaign_id, now)
    local_day = now.astimezone(ZoneInfo(terms.timezone)).date()
    amount = session.execute(
        select(DailyClaim.amount).where(
            DailyClaim.campaign_id == campaign_id,
            DailyClaim.shopper_id == shopper_id,
            DailyClaim.local_day == local_day,
        )
    ).scalar_one_or_none()
    return DailyStatusOut(
        campaign_id=campaign_id, local_day=local_day, claimed=amount is not None, amount=amount
    )
