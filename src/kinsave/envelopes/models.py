"""Envelope tables: lucky/equal envelopes with their pre-split shares, and daily claims."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class Envelope(Base):
    __tablename__ = "envelope"
    __table_args__ = (Index("ix_envelope_status_expires_at", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # lucky | equal
    total: Mapped[int] = mapped_column(BigInteger)
    share_count: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(200), default="")
    sender_shopper_id: Mapped[str | None] = mapped_column(ForeignKey("shopper.id"))
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    funder_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    escrow_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    # The seed of the split, so an audit can replay it and compare with the stored shares.
    split_seed: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # open | expired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EnvelopeShare(Base):
    __tablename__ = "envelope_share"
    __table_args__ = (
        UniqueConstraint("envelope_id", "seq"),
        # One share per shopper per envelope, enforced by the database: the one record of who
        # grabbed (envelopes/grabs.py). NULLs never collide.
        UniqueConstraint("envelope_id", "grabbed_by"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelope.id"))
    seq: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    grabbed_by: Mapped[str | None] = mapped_column(ForeignKey("shopper.id"), index=True)
    grabbed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DailyClaim(Base):
    __tablename__ = "daily_claim"
    # At most one claim per shopper per campaign per local calendar day.
    __table_args__ = (UniqueConstraint("campaign_id", "shopper_id", "local_day"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaign.id"))
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), index=True)
    local_day: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
