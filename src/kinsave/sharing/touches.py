"""Pure: which share brought an order, given the buyer's touches (opens, resolves) before it.

A touch counts when it happened no later than the order and at most its campaign's window
before it: at exactly `window` seconds it still counts, one second more and it does not.
Last touch picks the latest counting touch, first touch the earliest; ties go to the touch
listed first (the caller lists the handle the store sent with the order first).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class Touch:
    code: str
    at: datetime
    window: timedelta


def counts(touch: Touch, order_at: datetime) -> bool:
    return touch.at <= order_at and order_at - touch.at <= touch.window


def choose_touch(
    touches: list[Touch], order_at: datetime, model: Literal["last_touch", "first_touch"]
) -> Touch | None:
    counting = [t for t in touches if counts(t, order_at)]
    if not counting:
        return None
    if model == "first_touch":
        return min(counting, key=lambda t: t.at)
    return max(counting, key=lambda t: t.at)  # max keeps the first of equal keys


def kept_reward(reward: int, order_amount: int, refunded: int) -> int:
    """What a sharer keeps of a reward after refunds: proportional to what stays paid, rounded
    down (in the shop's favour). A full refund keeps nothing."""
    if order_amount <= 0:
        return 0
    refunded = min(max(refunded, 0), order_amount)
    return reward * (order_amount - refunded) // order_amount
