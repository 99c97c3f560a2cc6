from datetime import datetime

from pydantic import BaseModel, Field, StrictInt

from kinsave.ledger.schemas import Money
from kinsave.money import fen_field


class RelativeOut(BaseModel):
    shopper_id: str
    display_name: str
    via: str
    linked_at: datetime


class CircleActivityOut(BaseModel):
    shopper_id: str
    display_name: str
    kind: str  # daily_claim | envelope_grab | help_reward
    amount: int = fen_field()
    at: datetime


class CircleOut(BaseModel):
    relatives: list[RelativeOut]
    recent: list[CircleActivityOut] = Field(
        description="What the circle recently claimed or grabbed"
    )


class CircleEnvelopeIn(BaseModel):
    envelope_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")


class CircleEnvelopeOut(BaseModel):
    """An envelope a relative sent to the circle, as one member sees it."""

    envelope_id: str
    sender_id: str
    sender_name: str
    message: str
    total: int = fen_field()
    shares: int
    remaining_shares: int
    sent_at: datetime
    expires_at: datetime
    my_amount: int | None = fen_field(None, description="What I grabbed from it, if I did")


class CircleSendOut(BaseModel):
    envelope_id: str
    sent_at: datetime
    relatives: int = Field(description="How many relatives see it on their home page now")


class CircleEnvelopeListOut(BaseModel):
    envelopes: list[CircleEnvelopeOut]


class HelpOfferIn(BaseModel):
    helpers_needed: StrictInt = Field(ge=1, le=100, description="N: helpers needed to unlock")
    hours: StrictInt = Field(ge=1, le=24 * 30, description="T: hours the request stays open")
    reward: Money = Field(
        description="Paid from the campaign budget on unlock, in minor units (fen)"
    )
    daily_help_limit: StrictInt = Field(
        default=3, ge=1, le=100, description="K: requests one helper may help per local day"
    )


class HelpOfferOut(BaseModel):
    id: str
    campaign_id: str
    helpers_needed: int
    hours: int
    reward: int = fen_field()
    daily_help_limit: int
    created_at: datetime


class HelpRequestIn(BaseModel):
    offer_id: str = Field(min_length=1, max_length=40)


class HelperOut(BaseModel):
    shopper_id: str
    display_name: str
    helped_at: datetime


class HelpRequestOut(BaseModel):
    """Everything the requester and helpers see: the terms never change after the start."""

    id: str
    offer_id: str
    campaign_id: str
    requester_id: str
    helpers_needed: int
    helped: int
    helpers_remaining: int
    helpers: list[HelperOut]
    reward: int = fen_field()
    hours: int
    daily_help_limit: int
    state: str  # open | completed | expired
    created_at: datetime
    deadline_at: datetime
    closed_at: datetime | None


class HelpOut(BaseModel):
    request_id: str
    helped: int
    helpers_needed: int
    state: str
    reward_paid: int | None = fen_field(description="The reward, when this help unlocked it")


class HelpExpiryReport(BaseModel):
    expired: int
    refunded_amount: int


class PriceCutOfferIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64, description="A product of the store's catalog")
    final_price: int = fen_field(ge=0, description="The price once every helper has cut")
    helpers_needed: int = Field(ge=1, le=50)
    hours: int = Field(default=24, ge=1, le=168)
    units: int = Field(ge=1, le=10**7, description="How many shoppers can get the final price")
    entitlement_days: int = Field(default=7, ge=1, le=90)


class PriceCutOfferOut(BaseModel):
    id: str
    shop_id: str
    sku: str
    title: str
    regular_price: int = fen_field()
    final_price: int = fen_field()
    helpers_needed: int
    hours: int
    schedule: list[int] = Field(description="Each helper's cut in fen, in order; fixed")
    units: int
    units_left: int
    created_at: datetime


class PriceCutIn(BaseModel):
    offer_id: str = Field(min_length=1, max_length=40)


class PriceCutHelperOut(BaseModel):
    shopper_id: str
    display_name: str
    position: int
    amount: int = fen_field(description="What this helper cut: the schedule's amount")
    helped_at: datetime


class PriceCutOut(BaseModel):
    id: str
    offer_id: str
    shop_id: str
    sku: str
    title: str
    requester_id: str
    regular_price: int = fen_field()
    final_price: int = fen_field()
    price_now: int = fen_field()
    helpers_needed: int
    helped: int
    helpers_remaining: int
    schedule: list[int] = Field(description="Each helper's cut in fen, in order; fixed")
    next_cut: int | None = fen_field(description="What the next helper will cut")
    helpers: list[PriceCutHelperOut]
    state: str  # open | completed | expired
    coupon_id: str | None = Field(description="The requester's set_price coupon, once complete")
    created_at: datetime
    deadline_at: datetime
    closed_at: datetime | None


class PriceCutExpiryReport(BaseModel):
    expired: int
