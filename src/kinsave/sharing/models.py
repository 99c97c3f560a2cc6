"""Sharing tables: channels and their versioned policies, share codes, events, referral rewards."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class Channel(Base):
    """A channel an operator added. Built-in channels (policy.BUILTIN_CHANNELS) need no row."""

    __tablename__ = "sharing_channel"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    name: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelPolicy(Base):
    """One version of a shop's policy for a channel. Edits add a version; the highest is in force.
    With no row, the channel's built-in default is in force (version 0).
    """

    __tablename__ = "channel_policy"
    __table_args__ = (UniqueConstraint("shop_id", "channel", "version"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    channel: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Share(Base):
    __tablename__ = "share"
    __table_args__ = (Index("ix_share_sharer_created_at", "sharer_id", "created_at"),)

    code: Mapped[str] = mapped_column(String(11), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    sharer_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    channel: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))
    use_limit: Mapped[int | None] = mapped_column(Integer)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The coupon the share carries, chosen when it was shared (offers.py); null: none.
    coupon_template_id: Mapped[str | None] = mapped_column(String(40))


class ShareClaim(Base):
    """The coupon a share gave one shopper when the store resolved it: one row per (share,
    shopper), so resolving again answers the same coupon and claims nothing new."""

    __tablename__ = "share_claim"
    __table_args__ = (UniqueConstraint("share_code", "shopper_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    share_code: Mapped[str] = mapped_column(ForeignKey("share.code"))
    shopper_id: Mapped[str] = mapped_column(String(128))
    coupon_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreLanding(Base):
    """Where the store wants each kind of share to land: URL templates per target type."""

    __tablename__ = "store_landing"

    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), primary_key=True)
    templates: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SharingEvent(Base):
    """One step of the funnel. `dedupe_key` makes a reported business event count once."""

    __tablename__ = "sharing_event"
    __table_args__ = (
        Index("ix_sharing_event_shopper_occurred_at", "shopper_id", "occurred_at"),
        Index("ix_sharing_event_campaign_occurred_at", "campaign_id", "occurred_at"),
        Index("ix_sharing_event_share_code", "share_code"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    campaign_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(32))
    shopper_id: Mapped[str | None] = mapped_column(String(128))
    share_code: Mapped[str | None] = mapped_column(String(11))
    order_id: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    device_hash: Mapped[str | None] = mapped_column(String(64))
    channel_identity: Mapped[str | None] = mapped_column(String(128))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignSharing(Base):
    """A campaign's sharing setup: attribution window and model, referral reward, what it says."""

    __tablename__ = "campaign_sharing"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    setup: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReferralReward(Base):
    """A sharer's reward for one referred paid order: held, then paid; clawed back on refund."""

    __tablename__ = "referral_reward"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id"),
        Index("ix_referral_reward_status_release_at", "status", "release_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[str] = mapped_column(String(128))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaign.id"), index=True)
    share_code: Mapped[str] = mapped_column(ForeignKey("share.code"))
    channel: Mapped[str] = mapped_column(String(32))
    sharer_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    buyer_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    order_amount: Mapped[int] = mapped_column(BigInteger)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    clawed_back: Mapped[int] = mapped_column(BigInteger, default=0)
    unrecovered: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))  # held | paid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    release_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReferralDayCount(Base):
    """Rewards a sharer earned on one campaign-local day; the cap is a conditional UPDATE here."""

    __tablename__ = "referral_day_count"
    __table_args__ = (UniqueConstraint("campaign_id", "sharer_id", "local_day"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaign.id"))
    sharer_id: Mapped[str] = mapped_column(String(128))
    local_day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)
