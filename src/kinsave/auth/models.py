"""Who is calling: shops (tenants), shoppers and their sessions, and shop API keys."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, UTCDateTime


class Shop(Base):
    __tablename__ = "shop"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Shopper(Base):
    __tablename__ = "shopper"

    # The id the shopper signs in with ("grandma" in dev login, "tg:123" from Telegram).
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShopperSession(Base):
    __tablename__ = "shopper_session"

    # Only a hash of the bearer token is stored: a leaked table grants no sessions.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_key"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings so keys can be told apart
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # "operator" or "store"
    # "full", or "read" for console keys that may only look (GET) and never change anything.
    scope: Mapped[str] = mapped_column(String(16), server_default="full")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelIdentity(Base):
    """Who a shopper is on a host (Telegram user id, WeChat openid), kept for anti-fraud.

    Self-referral checks compare these: two shopper ids behind one host identity are one person.
    """

    __tablename__ = "channel_identity"

    host: Mapped[str] = mapped_column(String(16), primary_key=True)  # "telegram", "wechat"
    host_user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), index=True)
    app_id: Mapped[str | None] = mapped_column(String(64))  # the bot id or mini-program appid
    union_id: Mapped[str | None] = mapped_column(String(128), index=True)  # WeChat unionid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
