"""Group deals, their groups and the groups' members.

Scarcity lives in the database:
- a deal's `units_taken` grows by a group's size when the group starts, by a conditional UPDATE
  under the CHECK `units_taken <= units`, and shrinks by it only when the group fails: a started
  group can always fill, and units are never oversold;
- a group's `members` grows by a conditional UPDATE (`members < size`, still forming, before its
  window ends) under the CHECK `members <= size`, and each member takes the position it returns,
  unique per group: never more than N members, and exactly one join is the N-th;
- a shopper is in one open group per deal at most: `open_deal_id` is the deal while the group
  forms (NULL once it closes), unique with the shopper;
- a shopper joins at most `per_shopper_limit` groups of a deal that did not fail: each membership
  takes a slot 1..limit unique per (deal, shopper), freed (NULL) when its group fails.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class GroupDeal(Base):
    __tablename__ = "group_deal"
    __table_args__ = (
        CheckConstraint("group_size >= 2 AND group_size <= 50", name="group_size_in_range"),
        CheckConstraint("units_taken >= 0 AND units_taken <= units", name="units_within_stock"),
        CheckConstraint("per_shopper_limit >= 1", name="limit_positive"),
        CheckConstraint("group_price >= 0", name="group_price_not_negative"),
        Index("ix_group_deal_shop_id_status", "shop_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))  # the product's, when the deal was made
    regular_price: Mapped[int] = mapped_column(BigInteger)  # the catalog's, when it was made
    group_price: Mapped[int] = mapped_column(BigInteger)
    group_size: Mapped[int] = mapped_column(Integer)
    window_seconds: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(BigInteger)
    units_taken: Mapped[int] = mapped_column(BigInteger, default=0)
    per_shopper_limit: Mapped[int] = mapped_column(Integer)
    channels: Mapped[list[str]] = mapped_column(JSON)  # where it may be shown; [] = every channel
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # active | paused
    # The granted set_price template whose coupons the members of a successful group get.
    template_id: Mapped[str] = mapped_column(ForeignKey("coupon_template.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DealGroup(Base):
    __tablename__ = "deal_group"
    __table_args__ = (
        CheckConstraint("members >= 0 AND members <= size", name="members_within_size"),
        Index("ix_deal_group_status_expires_at", "status", "expires_at"),
        Index("ix_deal_group_deal_id_status", "deal_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("group_deal.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    starter_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    size: Mapped[int] = mapped_column(Integer)  # the deal's, when the group started
    members: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # forming | succeeded | failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupMember(Base):
    __tablename__ = "group_member"
    __table_args__ = (
        UniqueConstraint("group_id", "shopper_id"),
        UniqueConstraint("group_id", "position"),
        UniqueConstraint("open_deal_id", "shopper_id"),
        UniqueConstraint("deal_id", "shopper_id", "slot"),
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("slot >= 1", name="slot_positive"),
        Index("ix_group_member_shopper_id", "shopper_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("deal_group.id"))
    deal_id: Mapped[str] = mapped_column(ForeignKey("group_deal.id"))
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    position: Mapped[int] = mapped_column(Integer)  # 1 = the starter
    open_deal_id: Mapped[str | None] = mapped_column(String(40))  # deal_id while forming
    slot: Mapped[int | None] = mapped_column(Integer)  # NULL once the group failed
    device_hash: Mapped[str | None] = mapped_column(String(64))  # self-join checks read it
    coupon_id: Mapped[str | None] = mapped_column(String(40))  # the set_price entitlement
    via_share: Mapped[str | None] = mapped_column(String(40))  # the share code they came by
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
