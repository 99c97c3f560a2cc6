"""The limit: kinsave's writes issued raw with the driver (psycopg 3 / sqlite3), no framework.

Each call is one transaction with the fewest round trips the database allows for the same rows
kinsave writes: on PostgreSQL the very statements of envelopes/fastpath.py and
daily_fastpath.py, prepared by psycopg; on SQLite the same few statements in one
BEGIN IMMEDIATE transaction. Durable commits as configured (synchronous_commit on, SQLite FULL).
A refusal rolls back. This is an upper bound to measure kinsave against, not a product path: it
skips sessions and idempotency.
"""

import secrets
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from kinsave.coupons import claims
from kinsave.db import sqlite_time
from kinsave.envelopes import daily_fastpath, fastpath


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


def grab(connection: Any, envelope_id: str, shopper_id: str, now: datetime) -> str:
    """One grab, committed; returns "ok" or the refusal code. Polls like fastpath.py."""
    params = {"envelope_id": envelope_id, "shopper_id": shopper_id, "now": now}
    if isinstance(connection, sqlite3.Connection):
        return _sqlite_grab(connection, params)
    while True:
        try:
            with connection.transaction():
                outcome = fastpath.pg_grab(connection, params)
        except psycopg.errors.UniqueViolation:  # the same shopper won a concurrent grab
            return "already_grabbed"
        if not isinstance(outcome, str):
            return "ok"
        if outcome != "busy":
            return outcome
        time.sleep(0.002)


def _sqlite_grab(connection: sqlite3.Connection, params: dict[str, Any]) -> str:
    values = {**params, "now": sqlite_time(params["now"])}
    return _in_sqlite_transaction(
        connection, lambda: _why(fastpath.sqlite_grab(connection, values))
    )


def _why(outcome: object) -> str | None:
    return outcome if isinstance(outcome, str) else None


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


def claim(connection: Any, params: dict[str, Any]) -> str:
    """One daily claim with envelopes/daily_fastpath.py's statements (params: campaign_id,
    shopper_id, shop_id, budget_account_id, local_day, amount, now, key); a refusal writes
    nothing."""
    if isinstance(connection, sqlite3.Connection):
        return _sqlite_claim(connection, params)
    try:
        with connection.transaction():
            row = connection.execute(daily_fastpath.PG_CLAIM_DRIVER, params, prepare=True)
            refusal = row.fetchone()[1]
    except psycopg.errors.UniqueViolation:  # the same shopper won a concurrent claim
        return "already_claimed_today"
    return "ok" if refusal is None else str(refusal)


def _sqlite_claim(connection: sqlite3.Connection, params: dict[str, Any]) -> str:
    values = daily_fastpath.sqlite_values(params)
    return _in_sqlite_transaction(
        connection, lambda: daily_fastpath.sqlite_claim(connection, values)
    )


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
