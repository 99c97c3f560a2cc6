"""The three gates: what each knows of its items, how it seeds from the database, what it learns.

- grab: per envelope (`{env:<id>}`), the open shares and who holds one: `already_grabbed`,
  `envelope_empty`.
- daily: per campaign (`{camp:<id>}`), the budget left and who claimed which local day:
  `already_claimed_today`, and `budget_exhausted` only once the budget is below the smallest
  possible draw (any draw would be refused). A tap is reserved the largest possible draw, so the
  taps in flight can never promise more than the budget; when the budget left is between the
  smallest and the largest draw the gate passes the tap to the database, which draws and decides.
- coupon: per template (`{tpl:<id>}`), the stock left and how many each shopper holds:
  `coupon_limit_reached`, `coupon_sold_out`.
"""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.coupons.models import CouponTemplate
from kinsave.coupons.schemas import CouponOut
from kinsave.db import utcnow
from kinsave.envelopes.daily_rule import max_amount, min_amount
from kinsave.envelopes.models import Envelope, EnvelopeShare
from kinsave.envelopes.schemas import DailyClaimOut, GrabOut
from kinsave.errors import KinsaveError
from kinsave.gates.store import Seed
from kinsave.ledger import service as ledger

NOTHING = ("-", 0, 0)


def _code_of(outcome: object) -> str | None:
    return outcome.code if isinstance(outcome, KinsaveError) else None


class GrabKind:
    name = "grab"
    prefix = "env:"
    # An envelope's grabbed shares never come back, and it closes only at its expiry (`until`).
    exhaustion_is_final = True
    codes = {
        "already": KinsaveError("already_grabbed", "you already grabbed a share of this envelope"),
        "exhausted": KinsaveError(
            "envelope_empty", "every share of this envelope has been grabbed"
        ),
    }

    def tag(self, item: Any) -> str:
        return f"{self.prefix}{item.envelope_id}"

    def member(self, item: Any) -> str:
        return str(item.shopper_id)

    def seed(self, session: Session, tag: str, item: Any) -> Seed | None:
        envelope = session.get(Envelope, item.envelope_id)
        if envelope is None or envelope.status != "open" or envelope.expires_at <= utcnow():
            return None  # the database answers not_found or envelope_expired first
        shares = session.execute(
            select(EnvelopeShare.grabbed_by, EnvelopeShare.refunded_at).where(
                EnvelopeShare.envelope_id == item.envelope_id
            )
        ).all()
        holders = {holder: 1 for holder, _ in shares if holder is not None}
        open_shares = sum(1 for holder, refunded in shares if holder is None and refunded is None)
        until = int(envelope.expires_at.timestamp())
        return Seed(left=open_shares, members=holders, until=until)

    def learn(self, item: Any, outcome: object, info: str) -> tuple[str, int, int]:
        code = _code_of(outcome)
        if code is None:
            return ("g", 1, 0) if isinstance(outcome, GrabOut) else NOTHING
        return {"already_grabbed": ("a", 0, 0), "envelope_empty": ("x", 1, 0)}.get(code, NOTHING)


class DailyKind:
    name = "daily"
    prefix = "camp:"
    exhaustion_is_final = False  # a budget is topped up (a forget, maybe in another process)
    codes = {
        "already": KinsaveError("already_claimed_today", "today's envelope is already claimed"),
        "exhausted": KinsaveError("budget_exhausted", "not enough money in the paying account"),
    }

    def tag(self, item: Any) -> str:
        return f"{self.prefix}{item.campaign_id}"

    def member(self, item: Any) -> str:
        return str(item.shopper_id)

    def seed(self, session: Session, tag: str, item: Any) -> Seed | None:
        try:
            terms = campaigns.daily_terms(session, item.campaign_id, utcnow())
        except KinsaveError:
            return None  # not found, not active: the database refuses every tap itself
        ends_at = campaigns.campaign_ends_at(session, item.campaign_id)
        return Seed(
            left=ledger.balance(session, terms.budget_account_id),
            lo=min_amount(terms.rule),
            hi=max_amount(terms.rule),
            mode="until",
            info=terms.timezone,
            until=int(ends_at.timestamp()),
        )

    def learn(self, item: Any, outcome: object, info: str) -> tuple[str, int, int]:
        code = _code_of(outcome)
        if code is None:
            if not isinstance(outcome, DailyClaimOut):
                return NOTHING
            return ("g", outcome.amount, day_end(outcome.local_day, info))
        if code == "already_claimed_today":
            today = utcnow().astimezone(ZoneInfo(info)).date()
            return ("a", 0, day_end(today, info))
        if code == "budget_exhausted":
            return ("x", 0, 0)  # the draw was at most `hi`: the budget is below `hi`
        return NOTHING


def day_end(local_day: date, timezone: str) -> int:
    """The UTC second a local day of this time zone ends: until then a claim of it holds."""
    next_midnight = datetime.combine(local_day + timedelta(days=1), time(), ZoneInfo(timezone))
    return int(next_midnight.timestamp())


class CouponKind:
    name = "coupon"
    prefix = "tpl:"
    exhaustion_is_final = False  # a template's stock can be raised, or it paused and resumed
    codes = {
        "already": KinsaveError("coupon_limit_reached", "you already hold as many as allowed"),
        "exhausted": KinsaveError("coupon_sold_out", "every coupon of this kind has been claimed"),
    }

    def tag(self, item: Any) -> str:
        return f"{self.prefix}{item.template_id}"

    def member(self, item: Any) -> str:
        return str(item.shopper_id)

    def seed(self, session: Session, tag: str, item: Any) -> Seed | None:
        template = session.get(CouponTemplate, item.template_id)
        now = utcnow()
        if template is None or template.status != "active":
            return None  # the database answers not_found or coupon_not_claimable first
        if template.valid_from is not None and now < template.valid_from:
            return None
        until = template.valid_until
        return Seed(
            left=template.stock - template.issued,
            limit=template.per_shopper_limit,
            until=0 if until is None else int(until.timestamp()),
        )

    def learn(self, item: Any, outcome: object, info: str) -> tuple[str, int, int]:
        code = _code_of(outcome)
        if code is None:
            return ("g", 1, 0) if isinstance(outcome, CouponOut) else NOTHING
        return {"coupon_limit_reached": ("a", 0, 0), "coupon_sold_out": ("x", 1, 0)}.get(
            code, NOTHING
        )
