from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, UTCDateTime


class Campaign(Base):
    """An operator's budget and rules for a period. The budget itself is a ledger account."""

    __tablename__ = "campaign"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    budget_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    daily_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # active | paused | ended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
