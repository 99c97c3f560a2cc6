"""Store-link tables: the links, the short-lived link codes, the stores' link requests."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, UTCDateTime


class StoreLink(Base):
    """One shop's store may act for one shopper while `unlinked_at` is empty.

    The primary key (shop, shopper) is the guard's one read on every store call. Unlinking keeps
    the row (when it was linked and unlinked); linking again clears `unlinked_at`.
    """

    __tablename__ = "store_link"
    __table_args__ = (Index("ix_store_link_shopper_id", "shopper_id"),)

    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), primary_key=True)
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unlinked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkCode(Base):
    """A code the shopper issued for one shop; the store exchanges it once, before it expires.

    Only the code's SHA-256 is stored: a leaked table links nobody.
    """

    __tablename__ = "store_link_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkRequest(Base):
    """Where the store's browser sign-in comes back to, registered by the store with its key
    (a pushed authorization request): the mini app only ever redirects to a URL stored here."""

    __tablename__ = "store_link_request"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    return_url: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
