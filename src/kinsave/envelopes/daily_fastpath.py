"""The daily claim against a sharded budget: the fast path behind the `budget_shards` setting.

Same contract as `service.claim_daily` (once per shopper per campaign per local day, the same
errors, the same ledger transfer key), but the money comes from whichever budget shard can pay,
so a rush is not serialised on the campaign's one budget row. See campaigns/budget_shards.py for
why "budget exhausted" is still exact. A campaign without shards is paid from its main account.
"""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.campaigns import budget_shards
from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.envelopes.daily_rule import draw_amount
from kinsave.envelopes.models import DailyClaim
from kinsave.envelopes.schemas import DailyClaimOut
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
    """Today's red envelope, paid from a budget shard. Errors as `service.claim_daily`."""
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
    payer = budget_shards.paying_account(session, campaign_id, terms.budget_account_id, amount)
    if payer is None:
        raise KinsaveError("budget_exhausted", "not enough money in the paying account")
    ledger.transfer(
        session,
        from_account_id=payer,
        to_account_id=ledger.wallet_account(session, shopper_id),
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
