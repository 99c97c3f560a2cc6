from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, UTCDateTime


class TelegramUpdate(Base):
    """Every update the bot has handled, by Telegram's update_id: a replay is refused by the
    primary key, inside the same transaction as the update's own work."""

    __tablename__ = "telegram_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TelegramReminder(Base):
    """A shopper's opt-in to a daily reminder in their private chat with the bot, at a local
    time in their time zone; deleting the row is opting out."""

    __tablename__ = "telegram_reminder"

    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    local_time: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    timezone: Mapped[str] = mapped_column(String(64))
    # The last local day a reminder went out: the conditional update on it sends one a day.
    last_sent_day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
