"""Ledger tables: accounts with a stored balance, and the transfers that explain every balance.

Every account belongs to exactly one shop, and so does every transfer: the two composite foreign
keys of a transfer, (from_account_id, shop_id) and (to_account_id, shop_id), make the database
itself refuse a transfer between accounts of two shops. A shopper has one wallet per shop whose
credit they hold: credit is spendable only at the shop that issued it.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class AccountKind(StrEnum):
    WALLET = "wallet"  # a shopper's store credit at one shop
    SHOP_FUNDING = "shop_funding"  # the shop's money entering kinsave; goes negative by design
    CAMPAIGN_BUDGET = "campaign_budget"
    ENVELOPE_ESCROW = "envelope_escrow"  # one per envelope: what is still grabbable
    CREDIT_HOLD = "credit_hold"  # wallet credit reserved by a checkout
    SHOP_REDEEMED = "shop_redeemed"  # wallet credit spent at the shop's store
    REWARD_HOLD = "reward_hold"  # referral rewards waiting out the refund period
    HELP_ESCROW = "help_escrow"  # one per help request: its reward, held until it unlocks


DEFAULT_CURRENCY = "CNY"

# Accounts that stand for money outside kinsave and so may be negative. Everything else never is.
NEGATIVE_ALLOWED = frozenset({AccountKind.SHOP_FUNDING})


class Account(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("kind", "owner_id", "shop_id"),
        # The target of the transfers' composite foreign keys (same shop on both sides).
        UniqueConstraint("id", "shop_id"),
        CheckConstraint("balance >= 0 OR may_go_negative", name="balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(128))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    may_go_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transfer(Base):
    __tablename__ = "ledger_transfer"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_account_id <> to_account_id", name="distinct_accounts"),
        Index("ix_ledger_transfer_from_account", "from_account_id", "id"),
        Index("ix_ledger_transfer_to_account", "to_account_id", "id"),
        ForeignKeyConstraint(
            ["from_account_id", "shop_id"],
            ["ledger_account.id", "ledger_account.shop_id"],
            name="fk_ledger_transfer_from_account_same_shop",
        ),
        ForeignKeyConstraint(
            ["to_account_id", "shop_id"],
            ["ledger_account.id", "ledger_account.shop_id"],
            name="fk_ledger_transfer_to_account_same_shop",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    from_account_id: Mapped[int] = mapped_column(BigIntId)
    to_account_id: Mapped[int] = mapped_column(BigIntId)
    shop_id: Mapped[str] = mapped_column(String(40))  # the shop of both accounts
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
