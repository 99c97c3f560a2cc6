"""Pure: the amount rule of a daily red envelope, and the draw from it."""

import random
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from kinsave.money import fen_field

MAX_DAILY_AMOUNT = 1_000_000


def _kind_required(schema: JsonDict) -> None:
    """`kind` picks the rule (the union's discriminator): a request must send it."""
    required = schema.setdefault("required", [])
    if isinstance(required, list) and "kind" not in required:
        required.insert(0, "kind")


class UniformRule(BaseModel):
    """Every claimant draws uniformly from [min, max]."""

    model_config = ConfigDict(json_schema_extra=_kind_required)
    kind: Literal["uniform"] = "uniform"
    min: int = fen_field(ge=1, le=MAX_DAILY_AMOUNT)
    max: int = fen_field(ge=1, le=MAX_DAILY_AMOUNT)

    @model_validator(mode="after")
    def _ordered(self) -> "UniformRule":
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Tier(BaseModel):
    weight: int = Field(ge=1, le=1_000_000)
    min: int = fen_field(ge=1, le=MAX_DAILY_AMOUNT)
    max: int = fen_field(ge=1, le=MAX_DAILY_AMOUNT)

    @model_validator(mode="after")
    def _ordered(self) -> "Tier":
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class TieredRule(BaseModel):
    """A tier is picked by weight, then the amount uniformly within it (80 % get 10-50, 1 % 888)."""

    model_config = ConfigDict(json_schema_extra=_kind_required)
    kind: Literal["tiers"] = "tiers"
    tiers: list[Tier] = Field(min_length=1, max_length=20)


DailyRule = Annotated[UniformRule | TieredRule, Field(discriminator="kind")]


def draw_amount(rule: UniformRule | TieredRule, rng: random.Random) -> int:
    if isinstance(rule, UniformRule):
        return rng.randint(rule.min, rule.max)
    point = rng.randrange(sum(tier.weight for tier in rule.tiers))
    for tier in rule.tiers:
        if point < tier.weight:
            return rng.randint(tier.min, tier.max)
        point -= tier.weight
    raise AssertionError("weights cover the range")


def max_amount(rule: UniformRule | TieredRule) -> int:
    if isinstance(rule, UniformRule):
        return rule.max
    return max(tier.max for tier in rule.tiers)


def min_amount(rule: UniformRule | TieredRule) -> int:
    if isinstance(rule, UniformRule):
        return rule.min
    return min(tier.min for tier in rule.tiers)
