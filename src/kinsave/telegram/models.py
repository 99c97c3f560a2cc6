from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, UTCDateTime


class TelegramUpdate(Base):
    """Every update the bot has handled, by Telegram's update_id: a replay is refused by the
    primary key, inside the same transaction as the update's own work."""

    __tablename__ = "telegram_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
