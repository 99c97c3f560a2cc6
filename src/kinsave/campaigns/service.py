"""Campaigns: an operator's budget (a ledger account funded by the shop) and its rules."""

import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns.models import Campaign
from kinsave.campaigns.schemas import (
    MAX_BUDGET,
    BudgetBurnOut,
    BurnPointOut,
    CampaignIn,
    CampaignListOut,
    CampaignOut,
    CreditGrantOut,
    DailyTerms,
)
from kinsave.db import forget_gate_after_commit, utcnow
from kinsave.envelopes.daily_rule import DailyRule
from kinsave.errors import KinsaveError
from kinsave.ledger import keys
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind

MAX_BURN_DAYS = 400
_rule_adapter: TypeAdapter[DailyRule] = TypeAdapter(DailyRule)


def create_campaign(session: Session, shop_id: str, data: CampaignIn) -> CampaignOut:
    """Create a campaign and fund its budget from the shop. Errors: invalid_amount."""
    if not 0 <= data.budget <= MAX_BUDGET:
        raise KinsaveError("invalid_amount", f"budget must be between 0 and {MAX_BUDGET}")
    now = utcnow()
    campaign_id = "cmp_" + secrets.token_hex(8)
    budget_account = ledger.open_account(session, AccountKind.CAMPAIGN_BUDGET, campaign_id, shop_id)
    campaign = Campaign(
        id=campaign_id,
        shop_id=shop_id,
        name=data.name,
        budget_account_id=budget_account,
        timezone=data.timezone,
        starts_at=data.starts_at or now,
        ends_at=data.ends_at or now + timedelta(days=365),
        daily_rule=data.daily_rule.model_dump() if data.daily_rule else None,
        status="active",
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    if data.budget:
        _fund(session, campaign, data.budget, key=keys.campaign_funding(campaign_id, "initial"))
    return _out(session, campaign)


def add_budget(session: Session, shop_id: str, campaign_id: str, amount: int) -> CampaignOut:
    campaign = owned_campaign(session, shop_id, campaign_id)
    if not 0 < amount <= MAX_BUDGET:
        raise KinsaveError("invalid_amount", "a top-up is a positive amount")
    _fund(session, campaign, amount, key=keys.campaign_funding(campaign_id, secrets.token_hex(8)))
    return _out(session, campaign)


def _fund(session: Session, campaign: Campaign, amount: int, *, key: str) -> None:
    funding = ledger.open_account(
        session, AccountKind.SHOP_FUNDING, campaign.shop_id, campaign.shop_id
    )
    ledger.transfer(
        session,
        from_account_id=funding,
        to_account_id=campaign.budget_account_id,
        amount=amount,
        kind="campaign_funding",
        key=key,
        reference=campaign.id,
    )


def set_status(session: Session, shop_id: str, campaign_id: str, status: str) -> CampaignOut:
    campaign = owned_campaign(session, shop_id, campaign_id)
    if campaign.status == "ended" and status != "ended":
        raise KinsaveError("conflict", "an ended campaign cannot be restarted")
    campaign.status = status
    session.flush()
    forget_gate_after_commit(session, f"camp:{campaign_id}")
    return _out(session, campaign)


def grant_credit(
    session: Session,
    shop_id: str,
    campaign_id: str,
    shopper_id: str,
    amount: int,
    key: str | None,
) -> CreditGrantOut:
    """Gift wallet credit to a shopper from the campaign budget (goodwill, compensation).

    The grant is booked under `key` (the caller's Idempotency-Key) so it can never be paid twice.
    """
    campaign = owned_campaign(session, shop_id, campaign_id)
    if amount <= 0:
        raise KinsaveError("invalid_amount", "a credit grant is a positive amount")
    if not auth.shopper_exists(session, shopper_id):
        raise KinsaveError("not_found", "no such shopper")
    transfer_id = ledger.transfer(
        session,
        from_account_id=campaign.budget_account_id,
        to_account_id=ledger.wallet_account(session, shopper_id, campaign.shop_id),
        amount=amount,
        kind="credit_grant",
        key=keys.credit_grant(campaign_id, key or secrets.token_hex(12)),
        reference=campaign_id,
        insufficient_code="budget_exhausted",
    )
    return CreditGrantOut(transfer_id=transfer_id, shopper_id=shopper_id, amount=amount)


def owned_campaign(session: Session, shop_id: str, campaign_id: str) -> Campaign:
    """The campaign if it belongs to this shop. Another shop's campaign is simply not found."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.shop_id != shop_id:
        raise KinsaveError("not_found", "no such campaign")
    return campaign


def running_campaign(session: Session, campaign_id: str, now: datetime) -> Campaign:
    """The campaign if it is active right now (for shopper-side use: no shop check).

    Errors: not_found, campaign_not_active.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise KinsaveError("not_found", "no such campaign")
    if campaign.status != "active" or not campaign.starts_at <= now < campaign.ends_at:
        raise KinsaveError("campaign_not_active", "this campaign is not running right now")
    return campaign


def campaign_budget_account(session: Session, shop_id: str, campaign_id: str) -> int:
    return owned_campaign(session, shop_id, campaign_id).budget_account_id


def campaign_ids(session: Session, shop_id: str) -> list[str]:
    return list(session.execute(select(Campaign.id).where(Campaign.shop_id == shop_id)).scalars())


def get_campaign(session: Session, shop_id: str, campaign_id: str) -> CampaignOut:
    return _out(session, owned_campaign(session, shop_id, campaign_id))


def list_campaigns(session: Session, shop_id: str, *, limit: int, offset: int) -> CampaignListOut:
    rows = (
        session.execute(
            select(Campaign)
            .where(Campaign.shop_id == shop_id)
            .order_by(Campaign.created_at.desc(), Campaign.id)
            .limit(limit + 1)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return CampaignListOut(
        campaigns=[_out(session, c) for c in rows[:limit]],
        next_offset=offset + limit if len(rows) > limit else None,
    )


def daily_terms(session: Session, campaign_id: str, now: datetime) -> DailyTerms:
    """What a daily claim on this campaign draws from, if it can be claimed right now."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise KinsaveError("not_found", "no such campaign")
    if campaign.daily_rule is None:
        raise KinsaveError("campaign_has_no_daily_envelope", "this campaign has no daily envelope")
    if campaign.status != "active" or not campaign.starts_at <= now < campaign.ends_at:
        raise KinsaveError("campaign_not_active", "this campaign is not running right now")
    return DailyTerms(
        campaign_id=campaign.id,
        shop_id=campaign.shop_id,
        budget_account_id=campaign.budget_account_id,
        timezone=campaign.timezone,
        rule=_rule_adapter.validate_python(campaign.daily_rule),
    )


def campaign_ends_at(session: Session, campaign_id: str) -> datetime:
    """When the campaign stops running (its daily claims are refused from then on)."""
    ends_at: datetime = session.execute(
        select(Campaign.ends_at).where(Campaign.id == campaign_id)
    ).scalar_one()
    return ends_at


def running_daily_campaign(session: Session, now: datetime | None = None) -> str | None:
    """The oldest active campaign with a daily envelope that is running now: the mini app's."""
    now = now or utcnow()
    candidates = session.execute(
        select(Campaign.id, Campaign.daily_rule)
        .where(Campaign.status == "active", Campaign.starts_at <= now, Campaign.ends_at > now)
        .order_by(Campaign.created_at, Campaign.id)
        .limit(50)
    )
    # daily_rule may be stored as JSON null rather than SQL NULL, so it is checked here.
    return next((row[0] for row in candidates if row[1]), None)


def budget_burn(session: Session, shop_id: str, campaign_id: str) -> BudgetBurnOut:
    """The budget per local day: added, spent (net of refunds), spent to date and remaining."""
    campaign = owned_campaign(session, shop_id, campaign_id)
    zone = ZoneInfo(campaign.timezone)
    funded: dict[date, int] = defaultdict(int)
    spent: dict[date, int] = defaultdict(int)
    for when, amount, kind in ledger.movements(session, campaign.budget_account_id):
        day = when.astimezone(zone).date()
        if kind == "campaign_funding":
            funded[day] += amount
        else:
            spent[day] -= amount
    points: list[BurnPointOut] = []
    days = sorted(set(funded) | set(spent))
    total_funded = total_spent = 0
    for offset in range(min((days[-1] - days[0]).days + 1, MAX_BURN_DAYS) if days else 0):
        day = days[0] + timedelta(days=offset)
        total_funded += funded[day]
        total_spent += spent[day]
        points.append(
            BurnPointOut(
                day=day,
                funded=funded[day],
                spent=spent[day],
                spent_to_date=total_spent,
                remaining=total_funded - total_spent,
            )
        )
    return BudgetBurnOut(campaign_id=campaign.id, timezone=campaign.timezone, points=points)


def _out(session: Session, campaign: Campaign) -> CampaignOut:
    remaining = ledger.balance(session, campaign.budget_account_id)
    funded = ledger.total_received(session, campaign.budget_account_id, kind="campaign_funding")
    return CampaignOut(
        id=campaign.id,
        shop_id=campaign.shop_id,
        name=campaign.name,
        status=campaign.status,
        timezone=campaign.timezone,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        daily_rule=_rule_adapter.validate_python(campaign.daily_rule)
        if campaign.daily_rule
        else None,
        budget_funded=funded,
        budget_remaining=remaining,
        budget_spent=funded - remaining,
        created_at=campaign.created_at,
    )


def find_campaign(session: Session, campaign_id: str) -> Campaign | None:
    """Any shop's campaign by id (for shopper-facing flows that name a campaign), or None."""
    return session.get(Campaign, campaign_id)
