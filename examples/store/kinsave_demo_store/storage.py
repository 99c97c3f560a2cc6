"""The store's own SQLite file: its orders and the webhooks it received (stdlib sqlite3).

A real store has its own database; this one is a single file so that orders survive a restart
without any server. One short connection per call: sqlite3 connections are not shared between
the threads FastAPI runs handlers on.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS store_order (
    id TEXT PRIMARY KEY,
    shopper_id TEXT NOT NULL,
    lines TEXT NOT NULL,
    total_to_pay INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    credit_used INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'paid',
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    credit_returned INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS store_order_shopper ON store_order (shopper_id, created_at);
CREATE TABLE IF NOT EXISTS webhook_event (
    event_id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    event TEXT NOT NULL,
    order_id TEXT,
    shopper_id TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_event_shopper ON webhook_event (shopper_id, received_at);
CREATE TABLE IF NOT EXISTS webhook_signature (
    signature TEXT PRIMARY KEY,
    signed_at INTEGER NOT NULL
);
"""


def prepare(path: Path) -> None:
    """Create the file and its tables if missing (idempotent, run once at start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One immediate (write-locking) transaction: committed on success, rolled back on error."""
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as connection:
        connection.row_factory = sqlite3.Row
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
