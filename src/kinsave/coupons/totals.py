"""Coupon totals, read only: for monitoring (/metrics) and the console's shop overview."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.coupons.models import CheckoutOrder, Coupon
from kinsave.db import day_index


def coupons_by_state(session: Session) -> dict[str, int]:
    """state (available | reserved | used) -> how many coupons were claimed and are in it."""
    rows = session.execute(select(Coupon.state, func.count()).group_by(Coupon.state))
    return {state: int(count) for state, count in rows}


def claims_by_day(session: Session, shop_id: str, edges: Sequence[datetime]) -> dict[int, int]:
    """Report day (db.day_index) -> coupons of the shop claimed that day."""
    day = day_index(Coupon.claimed_at, edges)
    rows = session.execute(
        select(day, func.count())
        .where(
            Coupon.shop_id == shop_id, Coupon.claimed_at >= edges[0], Coupon.claimed_at < edges[-1]
        )
        .group_by(day)
    )
    return {int(d): int(count) for d, count in rows}


def coupon_cost_by_day(session: Session, shop_id: str, edges: Sequence[datetime]) -> dict[int, int]:
    """Report day -> the coupon discounts (goods and shipping) of the shop's orders paid that day,
    in minor units."""
    day = day_index(CheckoutOrder.paid_at, edges)
    rows = session.execute(
        select(day, func.sum(CheckoutOrder.discount + CheckoutOrder.shipping_discount))
        .where(
            CheckoutOrder.shop_id == shop_id,
            CheckoutOrder.paid_at >= edges[0],
            CheckoutOrder.paid_at < edges[-1],
        )
        .group_by(day)
    )
    return {int(d): int(cost or 0) for d, cost in rows}
