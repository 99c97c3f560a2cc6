from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, UTCDateTime


class IdempotencyRecord(Base):
    """The first successful response to a request made with an Idempotency-Key.

    Written in the same transaction as the change the request made, so the record exists
    exactly when the change does.
    """

    __tablename__ = "idempotency_record"

    scope: Mapped[str] = mapped_column(String(160), primary_key=True)  # who called
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
