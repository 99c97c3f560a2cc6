from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kinsave.money import fen_field

MAX_MONEY = 10**10
Kind = Literal["amount_off", "percent_off", "threshold", "free_shipping", "set_price"]
State = Literal["available", "reserved", "used", "expired"]


class ScopeIn(BaseModel):
    """{} or {"kind": "store"}: the whole store; {"categories": [...]} or {"skus": [...]}."""

    kind: Literal["store", "categories", "skus"] | None = None
    categories: list[str] = Field(default_factory=list, max_length=100)
    skus: list[str] = Field(default_factory=list, max_length=1000)
    min_spend: int = fen_field(default=0, ge=0, le=MAX_MONEY)


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind
    amount: int = fen_field(default=0, ge=0, le=MAX_MONEY)
    percent: int = Field(default=0, ge=0, le=100)
    cap: int = fen_field(default=0, ge=0, le=MAX_MONEY, description="0: no cap")
    threshold: int = fen_field(default=0, ge=0, le=MAX_MONEY)
    min_spend: int = fen_field(default=0, ge=0, le=MAX_MONEY)
    stock: int = Field(ge=1, le=10**9)
    per_shopper_limit: int = Field(default=1, ge=1, le=100)
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    stacking_group: str = Field(default="default", min_length=1, max_length=40)
    credit_combinable: bool = True
    campaign_id: str | None = None
    scope: ScopeIn = Field(default_factory=ScopeIn)


class ScopeOut(BaseModel):
    kind: str
    values: list[str]
    min_spend: int = fen_field()


class TemplateOut(BaseModel):
    id: str
    shop_id: str
    campaign_id: str | None
    name: str
    kind: str
    amount: int = fen_field()
    percent: int
    cap: int = fen_field()
    threshold: int = fen_field()
    scope: ScopeOut
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    stock: int
    issued: int
    stock_left: int
    per_shopper_limit: int
    stacking_group: str
    credit_combinable: bool
    status: str
    created_at: datetime


class TemplateListOut(BaseModel):
    templates: list[TemplateOut]


class ClaimIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=40)
    share_code: str | None = Field(
        default=None, max_length=11, description="The share the shopper claims through, if any"
    )


class CouponOut(BaseModel):
    id: str
    template_id: str
    shop_id: str
    name: str
    kind: str
    amount: int = fen_field()
    percent: int
    cap: int = fen_field()
    threshold: int = fen_field()
    scope: ScopeOut
    stacking_group: str
    credit_combinable: bool
    state: State
    claimed_at: datetime
    expires_at: datetime


class CouponListOut(BaseModel):
    coupons: list[CouponOut]


class CenterEntryOut(BaseModel):
    template: TemplateOut
    claimed: int  # how many of this template I already hold (any state)
    can_claim: int  # how many more I may claim


class CenterOut(BaseModel):
    templates: list[CenterEntryOut]


class DealCouponOut(BaseModel):
    template_id: str
    coupon_id: str | None  # set when the shopper already holds it
    name: str
    held: bool


class DealOut(BaseModel):
    shop_id: str
    sku: str
    title: str
    category: str
    image_url: str | None
    price: int = fen_field()
    price_after_coupon: int = fen_field()
    saving: int = fen_field()
    coupon: DealCouponOut | None
    label: str


class DealListOut(BaseModel):
    deals: list[DealOut]
    total: int
    limit: int
    offset: int
