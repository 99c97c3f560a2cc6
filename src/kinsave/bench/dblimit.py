"""The database limit: the very statements kinsave sends for a storm, batched as kinsave batches
them, one transaction per batch, from the plain driver (psycopg 3 / sqlite3), no framework.

A ceiling kinsave approaches from below. Batches have the size kinsave's batcher forms under the
bench's load (its `grab_batch_max`, at most one item per concurrent caller) and are committed by
one lane on one connection, as kinsave's default `batch_lanes` does; no gate (the database's own
work).

Grabs and daily claims: kinsave's one implementation (envelopes/grabs.book_grabs,
envelopes/daily.book_daily_claims, booking through ledger/batch.py) runs each batch once in a
transaction that is rolled back, while every statement it sends is recorded at the driver
(SQLAlchemy's before_cursor_execute: the final SQL and parameters; on SQLite, those sent straight
to the driver's connection, db.driver_of, by the connection itself); then the recorded
statements are replayed with the plain driver in one transaction that commits, and only the
replay is timed. The replay starts from the same rows (one lane, nothing else writes), so it
writes what kinsave would and its answers are the recorded run's. So the bench writes no ledger
statement of its own, and the limit has no Python per attempt: one batch at a time.
Coupon claims are sent by coupons/claims.py straight to the driver, pipelined: the limit sends
its statements (claims.PG_CLAIM_DRIVER, claims.sqlite_claim) the same way.

What is left out is what kinsave adds around the statements: building them (SQLAlchemy), the
answers' models, sessions, the batcher's threads and futures, idempotency, HTTP. A gate answers
refusals without the database, so behind gates kinsave may pass this limit on refusal-heavy
storms: the limit is the database's share of the work.
"""

import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import event

from kinsave.batch_outcomes import RetryLater
from kinsave.bench.measure import Answer, LoadResult
from kinsave.config import Settings
from kinsave.coupons import claims
from kinsave.db import make_engine, make_session_factory
from kinsave.errors import KinsaveError

# One batch's answers; None for an item to try again in the next batch (shares all locked).
BatchRunner = Callable[[Any, Sequence[Any]], list[Answer | None]]


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
        run_batch = (
            self.sqlite_batch if isinstance(connection, sqlite3.Connection) else self.pg_batch
        )

        def with_params(driver: Any, batch: Sequence[Any]) -> list[Answer | None]:
            return run_batch(driver, [self.params_of(item) for item in batch])

        try:
            return _drive(connection, items, report, self.batch_size, self.order_key, with_params)
        finally:
            connection.close()


def _drive(
    connection: Any,
    items: Sequence[Any],
    report: Callable[[int], None],
    batch_size: int,
    order_key: Callable[[Any], str],
    run_batch: BatchRunner,
) -> LoadResult:
    """The items in order, `batch_size` at a time (sorted by `order_key` within a batch, as the
    batcher sorts), one lane; an item answered None goes into the next batch."""
    codes: list[str] = [""] * len(items)
    amounts: list[int | None] = [None] * len(items)
    latencies, first_try = [0.0] * len(items), [0.0] * len(items)
    later: list[int] = []
    position, started = 0, time.perf_counter()
    while position < len(items) or later:
        fresh = list(range(position, min(len(items), position + batch_size - len(later))))
        position += len(fresh)
        batch = sorted(later + fresh, key=lambda i: order_key(items[i]))
        batch_started = time.perf_counter()
        for index in fresh:
            first_try[index] = batch_started
        answers = run_batch(connection, [items[i] for i in batch])
        done = time.perf_counter()
        later = []
        for index, answer in zip(batch, answers, strict=True):
            if answer is None:
                later.append(index)
                continue
            codes[index], amounts[index] = answer if isinstance(answer, tuple) else (answer, None)
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


class Replay:
    """Runs a batch function on a recording engine, rolled back; replays what it sent."""

    def __init__(self, settings: Settings, batch_function: Callable[..., Sequence[Any]]) -> None:
        self._engine = make_engine(settings)
        self._factory = make_session_factory(self._engine)
        self._batch_function = batch_function
        self._recorded: list[tuple[str, Any, bool]] | None = None
        event.listen(self._engine, "before_cursor_execute", self._record_cursor)
        event.listen(self._engine, "do_connect", self._connect_recording)

    def _record_cursor(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        self._record(statement, params, many)

    def _record(self, statement: str, params: Any, many: bool) -> None:
        if self._recorded is not None and not _TRANSACTION_CONTROL.match(statement):
            self._recorded.append((statement, params, many))

    def _connect_recording(self, dialect: Any, _record: Any, _args: Any, kwargs: Any) -> Any:
        """SQLite: the statements sent straight to the driver (db.driver_of) are recorded by the
        connection itself, as SQLAlchemy never sees them."""
        if dialect.name != "sqlite":
            return None
        kwargs["factory"] = _RecordingConnection
        connection = dialect.loaded_dbapi.connect(*_args, **kwargs)
        connection.on_statement = self._record
        return connection

    def statements(self, items: Sequence[Any]) -> tuple[list[Any], list[tuple[str, Any, bool]]]:
        """The batch function's outcomes for `items` and the statements it sent (undone)."""
        self._recorded = []
        session = self._factory()
        try:
            outcomes = list(self._batch_function(session, items))
            session.flush()
        finally:
            session.rollback()
            session.close()
        recorded, self._recorded = self._recorded, None
        return outcomes, recorded

    def close(self) -> None:
        self._engine.dispose()


class _RecordingConnection(sqlite3.Connection):
    """An sqlite3 connection that hands what is executed on it directly (not through a cursor,
    as SQLAlchemy sends) to `on_statement(sql, parameters, many)`."""

    on_statement: Callable[[str, Any, bool], None] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if self.on_statement is not None:
            self.on_statement(sql, parameters, False)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        parameters = list(parameters)
        if self.on_statement is not None:
            self.on_statement(sql, parameters, True)
        return super().executemany(sql, parameters)


_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b", re.I)


def replay(connection: Any, statements: Sequence[tuple[str, Any, bool]]) -> None:
    """The recorded statements in one transaction, committed, on the plain driver. (A "many"
    statement with one set of parameters is SQLAlchemy's insertmanyvalues: one execute.)"""
    sqlite = isinstance(connection, sqlite3.Connection)
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
    try:
        with nullcontext() if sqlite else connection.transaction():
            for sql, params, many in statements:
                if many and isinstance(params, list):
                    (connection if sqlite else connection.cursor()).executemany(sql, params)
                else:
                    connection.execute(sql, params)
        if sqlite:
            connection.execute("COMMIT")
    except BaseException:
        if sqlite:
            connection.execute("ROLLBACK")
        raise


def booked(outcome: Any) -> Answer | None:
    """A recorded outcome as an answer: ("ok", amount), the refusal's code, or None (busy: the
    item goes into the next batch)."""
    if isinstance(outcome, RetryLater):
        return None
    if isinstance(outcome, KinsaveError):
        return outcome.code
    return "ok", getattr(outcome, "amount", None)


@dataclass
class ReplayedLimit:
    """A variant that runs the whole plan itself: kinsave's batch function's statements,
    replayed (module docstring). `to_item` makes the batch function's item of an attempt."""

    settings: Settings
    batch_size: int
    batch_function: Callable[..., Sequence[Any]]
    to_item: Callable[[Any], Any]
    order_key: Callable[[Any], str]

    def run(self, items: Sequence[Any], report: Callable[[int], None]) -> LoadResult:
        recorder = Replay(self.settings, self.batch_function)
        connection = connect(self.settings.database_url)
        timed = 0.0

        def run_batch(_connection: Any, batch: Sequence[Any]) -> list[Answer | None]:
            nonlocal timed
            outcomes, statements = recorder.statements([self.to_item(i) for i in batch])
            started = time.perf_counter()
            replay(connection, statements)
            timed += time.perf_counter() - started
            return [booked(outcome) for outcome in outcomes]

        try:
            load = _drive(connection, items, report, self.batch_size, self.order_key, run_batch)
        finally:
            connection.close()
            recorder.close()
        load.seconds = timed  # the replays alone: the database's time
        return load


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
