"""Tables for abuse control and accountability: rate-limit counters and the operator audit log."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class RateCounter(Base):
    """One fixed window of one limit for one subject (used when Redis is not configured or down).

    Two rows per limit and subject, `key#0` and `key#1` by window parity: the current window and
    the previous one, which the sliding window weighs (security/ratelimit.py). A row outlives its
    window until the end of the next one (`expires_at`), then only until the sweeper deletes it:
    after that its count never decides anything again.
    """

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # limit:subject#parity
    window_index: Mapped[int] = mapped_column(BigInteger)  # epoch seconds // window length
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEntry(Base):
    """Something an operator (or the platform on a shop's behalf) did, in the shop's own log."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # key prefix, "cli" or "kinsave"
    action: Mapped[str] = mapped_column(String(200))  # "POST /v1/admin/campaigns/{campaign_id}/..."
    target: Mapped[str] = mapped_column(String(500))  # the path parameters, as JSON
    details: Mapped[str] = mapped_column(Text)  # the request body (bounded), or what was seen
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
