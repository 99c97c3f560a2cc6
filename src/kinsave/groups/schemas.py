from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kinsave.money import fen_field

MAX_MONEY = 10**10
GroupStatus = Literal["forming", "succeeded", "failed"]


class GroupDealIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64, description="A product of the store's catalog")
    group_price: int = fen_field(ge=0, le=MAX_MONEY, description="What each member pays")
    group_size: int = Field(ge=2, le=50, description="How many shoppers make a group")
    window_hours: int = Field(default=24, ge=1, le=168, description="How long a group may form")
    units: int = Field(ge=2, le=10**7, description="Units in stock for the deal")
    per_shopper_limit: int = Field(default=1, ge=1, le=20, description="Groups per shopper")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    channels: list[str] = Field(
        default_factory=list, max_length=20, description="Where it may be shown; [] = everywhere"
    )
    entitlement_days: int = Field(
        default=7, ge=1, le=90, description="How long members have to buy at the group price"
    )


class GroupDealStatusIn(BaseModel):
    action: Literal["pause", "resume"]


class GroupDealOut(BaseModel):
    """A deal as its operator watches it."""

    id: str
    shop_id: str
    sku: str
    title: str
    regular_price: int = fen_field()
    group_price: int = fen_field()
    group_size: int
    window_seconds: int
    units: int
    units_taken: int = Field(description="Units held by forming groups or given to succeeded ones")
    units_left: int
    per_shopper_limit: int
    channels: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    status: str
    template_id: str
    groups_forming: int
    groups_succeeded: int
    groups_failed: int
    conversion_percent: int = Field(description="Succeeded groups per closed group")
    created_at: datetime


class GroupDealListOut(BaseModel):
    deals: list[GroupDealOut]


class OpenGroupOut(BaseModel):
    id: str
    starter_name: str
    members: int
    needed: int
    expires_at: datetime
    seconds_left: int


class GroupDealPublicOut(BaseModel):
    """A deal as shoppers see it: price, size, and the open groups they can join."""

    id: str
    shop_id: str
    sku: str
    title: str
    regular_price: int = fen_field()
    group_price: int = fen_field()
    saving: int = fen_field()
    group_size: int
    window_seconds: int
    units_left: int
    open_for_groups: bool = Field(description="Whether a new group may start now")
    open_groups: list[OpenGroupOut]
    my_group_id: str | None = Field(description="The caller's forming group of this deal")


class MemberOut(BaseModel):
    shopper_id: str
    display_name: str
    position: int
    joined_at: datetime


class GroupOut(BaseModel):
    id: str
    deal_id: str
    shop_id: str
    sku: str
    title: str
    regular_price: int = fen_field()
    group_price: int = fen_field()
    status: GroupStatus
    size: int
    needed: int
    members: list[MemberOut]
    created_at: datetime
    expires_at: datetime
    seconds_left: int
    closed_at: datetime | None
    my_coupon_id: str | None = Field(
        description="The caller's set_price coupon, once the group succeeded"
    )
    new_group_path: str | None = Field(
        default=None,
        description="Once the group is full or failed: where to start a new group of the same "
        "deal (POST), so that a shared group that closed is not a dead end",
    )


class MyGroupsOut(BaseModel):
    groups: list[GroupOut]


class GroupExpiryReport(BaseModel):
    failed: int
    units_returned: int
