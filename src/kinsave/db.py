"""Engine, session factory and the unit of work: the only place a transaction begins and ends."""

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Table,
    case,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from kinsave.config import Settings

T = TypeVar("T")
IDLE = TransactionStatus.IDLE

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only aliases the rowid (and so autoincrements) for a column declared exactly INTEGER.
logger = logging.getLogger("kinsave.db")

BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_time(value: datetime) -> str:
    """An aware datetime as UTCDateTime stores it on SQLite, for statements sent to the driver."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def insert_on_conflict(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for `model` that accepts ON CONFLICT DO NOTHING / DO UPDATE on either database.

    This is how rows created on first sight (wallets, shoppers, links) survive two first requests
    racing each other: the loser's insert does nothing instead of failing the request.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_or_skip_by_dialect(
    table: Table, returning: ColumnElement[Any], index_elements: Sequence[str] | None = None
) -> dict[str, postgresql.Insert | sqlite.Insert]:
    """INSERT ... ON CONFLICT (index_elements) DO NOTHING RETURNING `returning`, built once on
    `table` for each database, keyed by dialect name: run `[connection.dialect.name]` of it.

    For the hot inserts that build their statement at import: building the ORM insert per call
    cost more CPU than running it (docs/benchmarks.md, "Sixth round: checkout"). A skipped row
    returns no row, on both databases. No index_elements: any unique constraint's conflict."""
    return {
        name: dialect.insert(table)
        .on_conflict_do_nothing(index_elements=index_elements)
        .returning(returning)
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }


def day_index(column: Any, edges: Sequence[datetime]) -> Any:
    """A SQL expression numbering the day `column` falls in: 0 for [edges[0], edges[1]), 1 for
    the next, ... The caller keeps `column` within [edges[0], edges[-1]). Edges are the local
    midnights in UTC, so a report groups by the shop's own days with one portable CASE on both
    backends, whatever the time zone."""
    return case(*[(column < edge, index) for index, edge in enumerate(edges[1:])], else_=None)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings.sqlite_synchronous, settings.db_pool_size)
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=settings.db_pre_ping,
        pool_recycle=1800,
    )


def open_connections(engine: Engine, count: int, patience_seconds: float = 60.0) -> int:
    """Open `count` pooled connections now and leave them in the pool; how many it opened.

    A storm that begins as an API process starts then finds its connections open, instead of
    asking the database for new ones at the moment it may be at max_connections (the first
    full-scale holiday run answered 87 taps 503 in its first second: "sorry, too many clients
    already" while this process opened its pool, docs/benchmarks.md). A refused connection is
    asked again for up to `patience_seconds` (another process may end one); after that the
    process starts with what it has, and requests open the rest as before."""
    deadline = time.monotonic() + patience_seconds
    held: list[Any] = []
    try:
        while len(held) < count:
            try:
                held.append(engine.connect())
            except OperationalError as refused:
                if time.monotonic() >= deadline:
                    logger.warning("opened %d of %d connections: %s", len(held), count, refused)
                    break
                time.sleep(0.2)
    finally:
        for connection in held:
            connection.close()  # back into the pool, open
    return len(held)


def _sqlite_engine(url: str, synchronous: str, pool_size: int) -> Engine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    # File databases keep their connections: opening one costs about 1 ms of CPU (the schema is
    # parsed anew, the pragmas below run) and closing the last one checkpoints the WAL, which was
    # over a third of a checkout quote's time (docs/benchmarks.md). No overflow limit, so that no
    # request ever waits for a connection, as with the NullPool used before.
    pooling: dict[str, Any] = (
        {} if in_memory else {"poolclass": QueuePool, "pool_size": pool_size, "max_overflow": -1}
    )
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, **pooling)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that later writes can
        # deadlock against another writer and fail with "database is locked" instead of waiting.
        # Readers (see read_only) begin deferred and never block anyone under WAL.
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


READ_ONLY_OPTION = "kinsave_read_only"


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for writers, or (read_only) for requests that only read."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False, autoflush=True)


def make_one_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for batches that read with single statements (the sign-in cache's misses). On
    PostgreSQL in autocommit: one statement sees one snapshot by itself, so BEGIN and COMMIT
    were two round trips that changed nothing (docs/benchmarks.md). SQLite: the readers'."""
    if engine.dialect.name != "postgresql":
        return make_session_factory(engine, read_only=True)
    return sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


@contextmanager
def unit_of_work(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises. Services flush."""
    with session_factory() as session, session.begin():
        yield session


@contextmanager
def driver_of(session: Session) -> Iterator[Any]:
    """The session's own DB-API connection, in its transaction, for the storm paths' statements
    sent straight to the driver (PostgreSQL pipelines; SQLite without SQLAlchemy's per-statement
    work). Driver errors come out as SQLAlchemy's, as from `session.execute`, so the batcher and
    the API's error handlers see one kind (a constraint: 409; a lost or locked database: 503)."""
    connection = session.connection()
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield connection.connection.driver_connection
    except dbapi_error as error:
        raise DBAPIError.instance(
            None, None, error, dbapi_error, dialect=connection.dialect
        ) from error


def make_single_read_engine(engine: Engine) -> Engine:
    """The pool single_read takes its connections from. On PostgreSQL a small pool of its own,
    always in autocommit and never pinged: the pre-ping (settings.db_pre_ping) was a second round
    trip per quote, in which the event loop waited on the database for nothing; a dead connection
    is found by the read itself, which single_read runs again on a fresh one. The checkout quote
    reads on the event loop, one at a time, so one connection is the pool's usual size. SQLite:
    the engine itself (its pool pings nothing, its connections are always in autocommit)."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(
        engine.url,
        pool_size=1,
        max_overflow=4,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_reset_on_return=None,  # autocommit: no transaction to end
        isolation_level="AUTOCOMMIT",
    )


def make_batch_engine(engine: Engine, settings: Settings) -> Engine:
    """The pool the batchers' lanes take their connections from. On PostgreSQL a pool of its
    own that pings nothing: the pre-ping (settings.db_pre_ping) was a round trip per batch, a
    tenth of a grab batch's CPU (docs/benchmarks.md, "A granted tap's cost, session 11"). A lane
    needs none: a batch that meets a dead connection fails whole and its items run again alone
    (batcher.py), on fresh connections (a disconnect invalidates the pool's older ones). SQLite:
    the engine itself (its pool pings nothing)."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(
        engine.url,
        pool_size=settings.db_connections_at_start,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
    )


def single_read(engine: Engine, read: Callable[[Any], T]) -> T:
    """`read(driver)` on a single_read_connection; run again once, on a fresh connection, when
    the pooled one turned out dead (the database restarted, a connection timed out): the pool of
    make_single_read_engine pings nothing, and a read is safe to run twice."""
    try:
        with single_read_connection(engine) as driver:
            return read(driver)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        engine.dispose()  # the others in the pool are as dead: open fresh ones
    with single_read_connection(engine) as driver:
        return read(driver)


@contextmanager
def single_read_connection(engine: Engine) -> Iterator[Any]:
    """A pooled DB-API connection, outside any Session and transaction, for a request that reads
    with one statement (the checkout quote). One statement sees one snapshot by itself on both
    databases, so a Session with its BEGIN and COMMIT cost CPU (SQLite) and round trips
    (PostgreSQL) for nothing (docs/benchmarks.md). A PostgreSQL connection not in autocommit
    (the main pool's) is put in it for the statement and back before it returns to the pool;
    SQLite's connections always are (isolation_level None, see _sqlite_engine). Driver errors
    come out as SQLAlchemy's, as from driver_of; a connection the error shows dead leaves the
    pool (connection_invalidated is then set)."""
    pooled = engine.raw_connection()
    driver: Any = pooled.driver_connection
    switched = engine.dialect.name == "postgresql" and not driver.autocommit
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        if switched:
            driver.autocommit = True
        yield driver
    except dbapi_error as error:
        dead = engine.dialect.is_disconnect(error, pooled, None)
        if dead:
            pooled.invalidate(error)
        raise DBAPIError.instance(
            None, None, error, dbapi_error, connection_invalidated=dead, dialect=engine.dialect
        ) from error
    finally:
        if switched and pooled.is_valid:
            driver.autocommit = False
        pooled.close()


class AwaitedReads:
    """PostgreSQL connections of psycopg's own AsyncConnection, in autocommit, for a request that
    reads with one statement and awaits it on the event loop (the checkout quote, decision
    47). The loop serves other requests while PostgreSQL works: a read on a pooled sync
    connection held the only event loop for the round trip, about 0.5 ms of every quote on a
    busy host, and a thread hop or SQLAlchemy's async engine cost more CPU than that wait
    (docs/benchmarks.md, "Eighth round" and "Ninth round").

    No SQLAlchemy in between and no pool library: idle connections wait in a list, a read takes
    one or opens one, at most `max_connections` are open (a further read waits for one; all are
    kept: closing and opening them per burst cost more CPU than the reads, docs/benchmarks.md
    "Ninth round"), and a connection the error shows broken is closed and the read runs again,
    once, on a fresh one (a read is safe to run twice). Made for one event loop (the app's);
    `close` at its shutdown."""

    # 4, not 16: 16 reads in flight gave 10 % more quotes/s but a p99 over issue 14's 50 ms at
    # 32 connections (61.7-82.2 ms against 39.5-54.6, docs/benchmarks.md "Where the goals
    # stand: session 10"), and each API process keeps these connections beside its pool.
    def __init__(self, url: URL, max_connections: int = 4) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._room = asyncio.Semaphore(max_connections)

    async def read(self, statement: Callable[[Any], Awaitable[T]]) -> T:
        """`await statement(connection)`, on an idle connection or a new one. Driver errors come
        out as SQLAlchemy's, as from single_read (so a database down answers 503)."""
        async with self._room:
            try:
                return await self._read(statement)
            except psycopg.Error as error:
                raise DBAPIError.instance(None, None, error, psycopg.Error) from error

    async def _read(self, statement: Callable[[Any], Awaitable[T]]) -> T:
        connection = self._idle.pop() if self._idle else await self._connect()
        try:
            return await self._run(connection, statement)
        except psycopg.OperationalError:
            if not connection.broken:
                raise
        await self._close_idle()  # the others are as dead (the database restarted)
        return await self._run(await self._connect(), statement)

    async def _run(
        self, connection: "psycopg.AsyncConnection[Any]", statement: Callable[[Any], Awaitable[T]]
    ) -> T:
        try:
            answer = await statement(connection)
        except BaseException:  # cancelled mid-statement too: such a connection is not reused
            await self._put_back(connection)
            raise
        await self._put_back(connection)
        return answer

    async def _put_back(self, connection: "psycopg.AsyncConnection[Any]") -> None:
        if connection.broken or connection.info.transaction_status != IDLE:
            await connection.close()
        else:
            self._idle.append(connection)

    async def _connect(self) -> "psycopg.AsyncConnection[Any]":
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def close(self) -> None:
        await self._close_idle()


def psycopg_sql(sql: str) -> str:
    """A `text()` statement's SQL for psycopg itself, which takes %(name)s, not :name, placeholders
    (the storm paths send their statements straight to the driver, in pipeline mode)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


GATES_TO_FORGET = "kinsave.gates_to_forget"


def forget_gate_after_commit(session: Session, tag: str) -> None:
    """This transaction raises what a storm gate counts, or changes what the database answers
    first (a budget top-up, a paused campaign or template): once it commits, the gate of `tag`
    (`camp:<id>`, `tpl:<id>`, `env:<id>`) is seeded anew from the database (gates/)."""
    forgotten: set[str] = session.info.setdefault(GATES_TO_FORGET, set())
    forgotten.add(tag)
