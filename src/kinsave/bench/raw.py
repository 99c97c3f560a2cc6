"""The limit: kinsave's coupon claim issued raw with the driver (psycopg 3 / sqlite3), no framework.

Each call is one transaction with the fewest round trips the database allows for the same rows
kinsave writes: on PostgreSQL the very statements of coupons/claims.py, prepared by psycopg; on
SQLite the same few statements in one BEGIN IMMEDIATE transaction. (Grabs and daily claims write
ledger tables, which only ledger/ writes: they have no raw variant.) Durable commits as
configured (synchronous_commit on, SQLite FULL). A refusal rolls back. This is an upper bound
to measure kinsave against, not a product path: it skips sessions and idempotency.
"""

import secrets
import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg

from kinsave.coupons import claims


def connect(url: str) -> Any:
    """A raw DB-API connection to the bench database (SQLAlchemy URL in, driver out)."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(
            url.split("///", 1)[1], isolation_level=None, timeout=60, check_same_thread=False
        )
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=60000"):
            connection.execute(f"PRAGMA {pragma}")
        return connection
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def _in_sqlite_transaction(connection: sqlite3.Connection, step: Callable[[], str | None]) -> str:
    """`step` in one BEGIN IMMEDIATE transaction: committed when it returns None ("ok"), rolled
    back when it returns a refusal code (which is returned)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        refusal = step()
        connection.execute("COMMIT" if refusal is None else "ROLLBACK")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return "ok" if refusal is None else refusal


_LOCK_TEMPLATE = "SELECT id FROM coupon_template WHERE id = %(template_id)s FOR UPDATE"


def claim_coupon(connection: Any, params: dict[str, Any]) -> str:
    """One coupon claim with coupons/claims.py's statements (params: template_id, shop_id,
    shopper_id, now, expires_at); "ok" or the refusal code, and a refusal writes nothing."""
    values = {**params, "coupon_id": f"cpn_{secrets.token_hex(8)}"}
    if isinstance(connection, sqlite3.Connection):
        return _sqlite_claim_coupon(connection, values)
    with connection.transaction():
        # The template's row first, as claims.py reads its terms: the claim's count is fresh.
        connection.execute(_LOCK_TEMPLATE, values, prepare=True)
        row = connection.execute(claims.PG_CLAIM_DRIVER, values, prepare=True).fetchone()
    return "ok" if row[0] is None else str(row[0])


def _sqlite_claim_coupon(connection: sqlite3.Connection, params: dict[str, Any]) -> str:
    values = claims.sqlite_values(params)
    return _in_sqlite_transaction(connection, lambda: claims.sqlite_claim(connection, values))
