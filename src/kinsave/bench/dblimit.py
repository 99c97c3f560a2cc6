"""The database limit: the very statements kinsave sends for a storm, batched as kinsave batches
them, one transaction per batch, from the plain driver (psycopg 3 / sqlite3), no framework.

A ceiling kinsave approaches from below: the same rows written by the same statements
(envelopes/fastpath.py, envelopes/daily_fastpath.py, coupons/claims.py and the wallet credits
of ledger/batch_credits.py), in batches of the size kinsave's batcher forms under the bench's
load (its `grab_batch_max`, at most one item per concurrent caller), committed by one lane on
one connection as kinsave's default `batch_lanes` does, with nothing per attempt but building
its parameters. What is left out is what kinsave adds around the statements: sessions, the
batcher's threads and futures, idempotency, answers, gates. A gate answers refusals without
the database, so with one kinsave may pass this limit on refusal-heavy storms; the limit is for
the database's share of the work.

Seam (issue 15, part 1): the `storm` branch moves these statements into a batch-booking API of
`ledger/`; when it lands, the functions below call it instead of the modules' statements.
"""

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from kinsave.bench.measure import Answer, LoadResult
from kinsave.coupons import claims
from kinsave.db import sqlite_time
from kinsave.envelopes import daily_fastpath, fastpath
from kinsave.ledger import batch_credits

# One batch's answers; None for an item to try again in the next batch (shares all locked).
BatchRunner = Callable[[Any, Sequence[dict[str, Any]]], list[Answer | None]]


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


@dataclass
class DatabaseLimit:
    """A variant that runs the whole plan itself (the runner calls `run`, not threads)."""

    url: str
    batch_size: int
    params_of: Callable[[Any], dict[str, Any]]  # an attempt's statement parameters
    order_key: Callable[[Any], str]
    pg_batch: BatchRunner
    sqlite_batch: BatchRunner

    def run(self, items: Sequence[Any], report: Callable[[int], None]) -> LoadResult:
        connection = connect(self.url)
        try:
            return self._drive(connection, items, report)
        finally:
            connection.close()

    def _drive(
        self, connection: Any, items: Sequence[Any], report: Callable[[int], None]
    ) -> LoadResult:
        sqlite = isinstance(connection, sqlite3.Connection)
        run_batch = self.sqlite_batch if sqlite else self.pg_batch
        codes: list[str] = [""] * len(items)
        amounts: list[int | None] = [None] * len(items)
        latencies, first_try = [0.0] * len(items), [0.0] * len(items)
        later: list[int] = []
        position, started = 0, time.perf_counter()
        while position < len(items) or later:
            fresh = list(range(position, min(len(items), position + self.batch_size - len(later))))
            position += len(fresh)
            batch = sorted(later + fresh, key=lambda i: self.order_key(items[i]))
            batch_started = time.perf_counter()
            for index in fresh:
                first_try[index] = batch_started
            answers = run_batch(connection, [self.params_of(items[i]) for i in batch])
            done = time.perf_counter()
            later = []
            for index, answer in zip(batch, answers, strict=True):
                if answer is None:
                    later.append(index)
                    continue
                codes[index], amounts[index] = (
                    answer if isinstance(answer, tuple) else (answer, None)
                )
                latencies[index] = (done - first_try[index]) * 1000
            report(position)
        return LoadResult(time.perf_counter() - started, codes, latencies, amounts=amounts)


def _sqlite_transaction(
    connection: sqlite3.Connection, batch: Sequence[dict[str, Any]], one: Callable[..., Answer]
) -> list[Answer | None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        answers: list[Answer | None] = [one(connection, params) for params in batch]
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return answers


# Grabs: params envelope_id, shopper_id, now.
def pg_grabs(connection: Any, batch: Sequence[dict[str, Any]]) -> list[Answer | None]:
    with connection.transaction():
        with connection.pipeline():
            cursors = [
                connection.execute(fastpath._PG_BATCH_GRAB_DRIVER, params, prepare=True)
                for params in batch
            ]
        rows = [cursor.fetchone() for cursor in cursors]
        batch_credits.credit_in_id_order(connection, [(r[4], r[2]) for r in rows if r[3] is None])
    return [_grab_answer(row[3], row[2]) for row in rows]


def _grab_answer(refusal: str | None, amount: int) -> Answer | None:
    if refusal is None:
        return "ok", amount
    return None if refusal == "busy" else str(refusal)


def sqlite_grabs(connection: Any, batch: Sequence[dict[str, Any]]) -> list[Answer | None]:
    def one(driver: Any, params: dict[str, Any]) -> Answer:
        outcome = fastpath.sqlite_grab(driver, {**params, "now": sqlite_time(params["now"])})
        return outcome if isinstance(outcome, str) else ("ok", outcome[2])

    return _sqlite_transaction(connection, batch, one)


# Daily claims: params as daily_fastpath's drafts (campaign, shopper, shop, budget account,
# local day, drawn amount, now, key).
def pg_claims(connection: Any, batch: Sequence[dict[str, Any]]) -> list[Answer | None]:
    with connection.transaction():
        with connection.pipeline():
            cursors = [
                connection.execute(daily_fastpath._PG_BATCH_CLAIM_DRIVER, draft, prepare=True)
                for draft in batch
            ]
        rows = [cursor.fetchone() for cursor in cursors]
        paid = [(row[0], draft["amount"]) for row, draft in zip(rows, batch, strict=True)]
        batch_credits.credit_in_id_order(connection, [(w, a) for w, a in paid if w is not None])
    return [
        ("ok", draft["amount"]) if row[1] is None else str(row[1])
        for row, draft in zip(rows, batch, strict=True)
    ]


def sqlite_claims(connection: Any, batch: Sequence[dict[str, Any]]) -> list[Answer | None]:
    def one(driver: Any, draft: dict[str, Any]) -> Answer:
        refusal = daily_fastpath.sqlite_claim(driver, daily_fastpath.sqlite_values(draft))
        return ("ok", draft["amount"]) if refusal is None else refusal

    return _sqlite_transaction(connection, batch, one)


# Coupon claims: params as claims.py's drafts (coupon id, template, shop, shopper, times).
_LOCK_TEMPLATES = "SELECT id FROM coupon_template WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE"


def pg_coupons(connection: Any, batch: Sequence[dict[str, Any]]) -> list[Answer | None]:
    with connection.transaction():
        # The templates' rows first, as claims.py reads their terms: the claims' counts are fresh.
        ids = sorted({draft["template_id"] for draft in batch})
        connection.execute(_LOCK_TEMPLATES, {"ids": ids}, prepare=True).fetchall()
        with connection.pipeline():
            cursors = [
                connection.execute(claims.PG_CLAIM_DRIVER, draft, prepare=True) for draft in batch
            ]
        rows = [cursor.fetchone() for cursor in cursors]
    return ["ok" if row[0] is None else str(row[0]) for row in rows]


def sqlite_coupons(connection: Any, batch: Sequence[dict[str, Any]]) -> list[Answer | None]:
    def one(driver: Any, draft: dict[str, Any]) -> Answer:
        refusal = claims.sqlite_claim(driver, claims.sqlite_values(draft))
        return "ok" if refusal is None else refusal

    return _sqlite_transaction(connection, batch, one)
