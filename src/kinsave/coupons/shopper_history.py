"""One shopper's orders and refunds at one shop, for the console's support page (read only)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.coupons.models import CheckoutOrder, Coupon, OrderRefund


@dataclass(frozen=True)
class OrderSummary:
    order_id: str
    status: str
    subtotal: int
    discount: int  # coupon discount on goods and shipping
    credit: int
    total_to_pay: int
    channel: str
    attribution: str | None
    reserved_at: datetime
    paid_at: datetime | None


@dataclass(frozen=True)
class RefundSummary:
    order_id: str
    amount: int  # cash the store returned
    credit: int  # credit returned to the wallet
    created_at: datetime


def orders_of(
    session: Session, shop_id: str, shopper_id: str, *, limit: int = 50
) -> list[OrderSummary]:
    """The shopper's orders at the shop, newest first."""
    rows = session.scalars(
        select(CheckoutOrder)
        .where(CheckoutOrder.shop_id == shop_id, CheckoutOrder.shopper_id == shopper_id)
        .order_by(CheckoutOrder.reserved_at.desc(), CheckoutOrder.id.desc())
        .limit(limit)
    )
    return [
        OrderSummary(
            order_id=o.order_id,
            status=o.status,
            subtotal=o.subtotal,
            discount=o.discount + o.shipping_discount,
            credit=o.credit + o.shipping_credit,
            total_to_pay=o.total_to_pay,
            channel=o.channel,
            attribution=o.attribution,
            reserved_at=o.reserved_at,
            paid_at=o.paid_at,
        )
        for o in rows
    ]


def refunds_of(
    session: Session, shop_id: str, shopper_id: str, *, limit: int = 50
) -> list[RefundSummary]:
    """The refunds of the shopper's orders at the shop, newest first."""
    rows = session.execute(
        select(
            CheckoutOrder.order_id, OrderRefund.amount, OrderRefund.credit, OrderRefund.created_at
        )
        .join(CheckoutOrder, CheckoutOrder.id == OrderRefund.order_id)
        .where(CheckoutOrder.shop_id == shop_id, CheckoutOrder.shopper_id == shopper_id)
        .order_by(OrderRefund.created_at.desc(), OrderRefund.id.desc())
        .limit(limit)
    )
    return [RefundSummary(order_id, amount, credit, at) for order_id, amount, credit, at in rows]


def has_history(session: Session, shop_id: str, shopper_id: str) -> bool:
    """Whether the shopper ever held a coupon of the shop or ordered from its store."""
    for model in (Coupon, CheckoutOrder):
        found = session.execute(
            select(model.id)
            .where(model.shop_id == shop_id, model.shopper_id == shopper_id)
            .limit(1)
        ).first()
        if found is not None:
            return True
    return False
