"""Coupon templates, claimed coupons, and the store's checkout orders that reserve and redeem them.

Scarcity lives in the database: a template's `issued` only grows by a conditional UPDATE that
never passes `stock`; a shopper's claims take numbered slots unique per (template, shopper), slot
numbers never above the per-shopper limit; a coupon changes state only by conditional UPDATEs;
an order id is unique per shop and each refund unique per order.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class CouponTemplate(Base):
    __tablename__ = "coupon_template"
    __table_args__ = (
        CheckConstraint("issued >= 0 AND issued <= stock", name="issued_within_stock"),
        CheckConstraint("per_shopper_limit >= 1", name="limit_positive"),
        Index("ix_coupon_template_shop_id_status", "shop_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaign.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # amount_off | percent_off | threshold | free_shipping | set_price (amount: the price)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    percent: Mapped[int] = mapped_column(Integer, default=0)
    cap: Mapped[int] = mapped_column(BigInteger, default=0)
    threshold: Mapped[int] = mapped_column(BigInteger, default=0)
    min_spend: Mapped[int] = mapped_column(BigInteger, default=0)
    scope_kind: Mapped[str] = mapped_column(String(16))  # store | categories | skus
    scope_values: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(BigInteger)
    issued: Mapped[int] = mapped_column(BigInteger, default=0)
    per_shopper_limit: Mapped[int] = mapped_column(Integer, default=1)
    stacking_group: Mapped[str] = mapped_column(String(40))
    credit_combinable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by the database (a trigger, migration 5e1b7c9d3f20) whenever an UPDATE writes one of
    # the terms' columns above: the checkout quote keeps terms per process by (id, version).
    terms_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # active | paused | ended, or granted: its coupons are given by a group deal or a price cut
    # (coupons/entitlements.py), never claimed.
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Coupon(Base):
    __tablename__ = "coupon"
    __table_args__ = (
        # The per-shopper limit: slot numbers 1..limit, each at most once per shopper.
        UniqueConstraint("template_id", "shopper_id", "slot"),
        Index("ix_coupon_shopper_id_state", "shopper_id", "state"),
        Index("ix_coupon_order_id", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("coupon_template.id"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"))
    slot: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(
        String(16)
    )  # available | reserved | used ("expired" is derived)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("checkout_order.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckoutOrder(Base):
    __tablename__ = "checkout_order"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id"),
        Index("ix_checkout_order_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[str] = mapped_column(String(64))  # the store's own id
    shopper_id: Mapped[str] = mapped_column(ForeignKey("shopper.id"), index=True)
    # reserved | paid | partially_refunded | refunded | cancelled | expired
    status: Mapped[str] = mapped_column(String(20))
    request_hash: Mapped[str] = mapped_column(String(64))
    coupon_ids: Mapped[list[str]] = mapped_column(JSON)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping_fee: Mapped[int] = mapped_column(BigInteger)
    shipping_discount: Mapped[int] = mapped_column(BigInteger)
    shipping_credit: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)
    total_to_pay: Mapped[int] = mapped_column(BigInteger)
    hold_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    attribution: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32), server_default="web")  # of the visit
    payment_method: Mapped[str | None] = mapped_column(String(32))  # as the store reported it
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderLine(Base):
    __tablename__ = "checkout_order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity",
            name="refund_within_quantity",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("checkout_order.id"))
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)
    coupon_discounts: Mapped[dict[str, int]] = mapped_column(JSON)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)


class OrderRefund(Base):
    __tablename__ = "checkout_refund"
    __table_args__ = (UniqueConstraint("order_id", "refund_key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("checkout_order.id"))
    refund_key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)  # cash the store returns
    credit: Mapped[int] = mapped_column(BigInteger)  # credit returned to the wallet
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
