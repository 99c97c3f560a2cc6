"""Webhooks the store accepted, and the signatures it has seen, in its SQLite file.

Two different repeats, told apart on purpose:
- the same signed request again (same `t` and `v1`) is a replay by someone who captured it:
  refused. Signatures only need remembering for the replay window, since anything older fails
  the timestamp check anyway; that is what keeps this table small.
- the same event id with a fresh signature is kinsave delivering at least once (a retry after a
  lost answer, or an operator's re-send): acknowledged, but not recorded or acted on twice.
Both rest on primary keys, so two deliveries racing each other cannot both get through.
"""

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from kinsave_demo_store import storage
from kinsave_demo_store.webhook_signature import REPLAY_WINDOW_SECONDS, SignedHeader


class Replayed(Exception):
    """This exact signed request was accepted before."""


@dataclass(frozen=True)
class ReceivedEvent:
    event_id: str
    delivery_id: str
    event: str
    order_id: str | None
    shopper_id: str | None
    received_at: datetime


class WebhookInbox:
    def __init__(self, path: Path) -> None:
        self.path = path

    def accept(
        self, signed: SignedHeader, event: ReceivedEvent, now: float
    ) -> Literal["recorded", "duplicate"]:
        """Remember the signature (raises Replayed if seen) and record the event once."""
        # verify_signature keeps only the entry that matched, so padding the header with extra
        # v1= entries does not make an old request look new.
        signature = f"{signed.timestamp}:{signed.signatures[0]}"
        with storage.transaction(self.path) as db:
            db.execute(
                "DELETE FROM webhook_signature WHERE signed_at < ?",
                (int(now) - 2 * REPLAY_WINDOW_SECONDS,),
            )
            try:
                db.execute(
                    "INSERT INTO webhook_signature (signature, signed_at) VALUES (?, ?)",
                    (signature, signed.timestamp),
                )
            except sqlite3.IntegrityError:
                raise Replayed(signature) from None
            inserted = db.execute(
                "INSERT OR IGNORE INTO webhook_event"
                " (event_id, delivery_id, event, order_id, shopper_id, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    event.delivery_id,
                    event.event,
                    event.order_id,
                    event.shopper_id,
                    event.received_at.isoformat(),
                ),
            ).rowcount
        return "recorded" if inserted else "duplicate"

    def recent_of(self, shopper_id: str, limit: int = 20) -> list[ReceivedEvent]:
        """The latest events about this shopper's orders (a shopper sees no one else's)."""
        with storage.transaction(self.path) as db:
            rows = db.execute(
                "SELECT * FROM webhook_event WHERE shopper_id = ?"
                " ORDER BY received_at DESC, event_id LIMIT ?",
                (shopper_id, limit),
            ).fetchall()
        return [
            ReceivedEvent(
                event_id=row["event_id"],
                delivery_id=row["delivery_id"],
                event=row["event"],
                order_id=row["order_id"],
                shopper_id=row["shopper_id"],
                received_at=datetime.fromisoformat(row["received_at"]).astimezone(UTC),
            )
            for row in rows
        ]
