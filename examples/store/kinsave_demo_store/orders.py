"""The store's own orders, kept in its SQLite file so they survive a restart."""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kinsave_demo_store import storage


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


class OrderBook:
    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def new_id() -> str:
        return "ord_" + secrets.token_hex(6)

    def add(self, order: Order) -> None:
        """Record a paid order; recording the same order id twice keeps the first."""
        with storage.transaction(self.path) as db:
            db.execute(
                "INSERT OR IGNORE INTO store_order (id, shopper_id, lines, total_to_pay,"
                " discount, credit_used, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    order.id,
                    order.shopper_id,
                    json.dumps(order.lines),
                    order.total_to_pay,
                    order.discount,
                    order.credit_used,
                    order.status,
                    datetime.now(UTC).isoformat(),
                ),
            )

    def of(self, shopper_id: str) -> list[Order]:
        """The shopper's orders, newest first."""
        with storage.transaction(self.path) as db:
            rows = db.execute(
                "SELECT * FROM store_order WHERE shopper_id = ? ORDER BY created_at DESC, id",
                (shopper_id,),
            ).fetchall()
        return [_order(row) for row in rows]

    def get(self, order_id: str) -> Order | None:
        with storage.transaction(self.path) as db:
            row = db.execute("SELECT * FROM store_order WHERE id = ?", (order_id,)).fetchone()
        return _order(row) if row else None

    def mark_refunded(self, order_id: str, refunded_amount: int, credit_returned: int) -> None:
        with storage.transaction(self.path) as db:
            db.execute(
                "UPDATE store_order SET status = 'refunded', refunded_amount = ?,"
                " credit_returned = ? WHERE id = ?",
                (refunded_amount, credit_returned, order_id),
            )


def _order(row: Any) -> Order:
    return Order(
        id=row["id"],
        shopper_id=row["shopper_id"],
        lines=json.loads(row["lines"]),
        total_to_pay=row["total_to_pay"],
        discount=row["discount"],
        credit_used=row["credit_used"],
        status=row["status"],
        refunded_amount=row["refunded_amount"],
        credit_returned=row["credit_returned"],
    )
