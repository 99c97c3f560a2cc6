"""The store's own orders. A demo keeps them in memory; a real store has its own database."""

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Order:
    id: str
    shopper_id: str
    lines: list[dict[str, Any]]
    total_to_pay: int
    discount: int
    credit_used: int
    status: str = "paid"  # paid | refunded
    refunded_amount: int = 0
    credit_returned: int = 0


@dataclass
class OrderBook:
    orders: dict[str, Order] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def new_id() -> str:
        return "ord_" + secrets.token_hex(6)

    def add(self, order: Order) -> None:
        with self.lock:
            self.orders[order.id] = order

    def of(self, shopper_id: str) -> list[Order]:
        with self.lock:
            return [o for o in reversed(self.orders.values()) if o.shopper_id == shopper_id]

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)
