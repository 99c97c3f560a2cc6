from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, StrictInt, field_validator, model_validator

from kinsave.envelopes.daily_rule import DailyRule, TieredRule, UniformRule
from kinsave.ledger.schemas import Money
from kinsave.money import FEN, fen_field

# The most a campaign's budget (and one top-up of it) may be: the schema and the service agree.
MAX_BUDGET = 10**12
Budget = Annotated[StrictInt, Field(ge=0, le=MAX_BUDGET, description=f"Budget; {FEN}")]


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    budget: Budget
    timezone: str = "Asia/Shanghai"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    daily_rule: DailyRule | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError("unknown IANA timezone")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a timezone offset, e.g. 2026-12-31T20:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _window(self) -> "CampaignIn":
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class AmountIn(BaseModel):
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_BUDGET, description=f"Top-up; {FEN}")]


class CreditGrantIn(BaseModel):
    shopper_id: str = Field(min_length=1, max_length=128)
    amount: Money
    note: str = Field(default="", max_length=120)


class CampaignStatusIn(BaseModel):
    status: Literal["active", "paused", "ended"]


class CampaignOut(BaseModel):
    id: str
    shop_id: str
    name: str
    status: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    daily_rule: Annotated[UniformRule | TieredRule, Field(discriminator="kind")] | None
    budget_funded: int = fen_field()
    budget_remaining: int = fen_field()
    budget_spent: int = fen_field()
    created_at: datetime


class CampaignListOut(BaseModel):
    campaigns: list[CampaignOut]
    next_offset: int | None


class CreditGrantOut(BaseModel):
    transfer_id: int
    shopper_id: str
    amount: int = fen_field()


class BurnPointOut(BaseModel):
    day: date = Field(description="The campaign's local calendar day")
    funded: int = fen_field(description="Budget added that day")
    spent: int = fen_field(description="Paid out that day, less refunds that came back")
    spent_to_date: int = fen_field()
    remaining: int = fen_field()


class BudgetBurnOut(BaseModel):
    campaign_id: str
    timezone: str
    points: list[BurnPointOut]


@dataclass(frozen=True)
class DailyTerms:
    """What a daily claim needs to know about its campaign."""

    campaign_id: str
    shop_id: str  # whose credit the claim pays: the shopper's wallet at this shop
    budget_account_id: int
    timezone: str
    rule: UniformRule | TieredRule
