"""Coupon totals for monitoring (/metrics): read-only, one grouped query."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.coupons.models import Coupon


def coupons_by_state(session: Session) -> dict[str, int]:
    """state (available | reserved | used) -> how many coupons were claimed and are in it."""
    rows = session.execute(select(Coupon.state, func.count()).group_by(Coupon.state))
    return {state: int(count) for state, count in rows}
