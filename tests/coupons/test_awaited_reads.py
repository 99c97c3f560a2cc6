"""The quote's read awaited on PostgreSQL (db.AwaitedReads): connections in autocommit, kept
and reused, a dead one read again on a fresh one, a failing statement run once."""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from kinsave.db import AwaitedReads

T = TypeVar("T")


class Loop:
    """An event loop on a thread of its own, as the app's (tests never asyncio.run)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


@pytest.fixture
def reads(engine: Engine) -> Iterator[tuple[AwaitedReads, Loop]]:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's quote reads on the loop: nothing to await")
    loop = Loop()
    made = AwaitedReads(engine.url)
    try:
        yield made, loop
    finally:
        loop.run(made.close())
        loop.stop()


async def _backend(connection: Any) -> tuple[int, bool, str]:
    row = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
    return int(row[0]), connection.autocommit, connection.info.transaction_status.name


def test_reads_in_autocommit_on_a_kept_connection(reads: tuple[AwaitedReads, Loop]) -> None:
    awaited, loop = reads
    first = loop.run(awaited.read(_backend))
    assert first[1:] == (True, "IDLE")
    assert loop.run(awaited.read(_backend)) == first  # the same connection, kept


def test_a_dead_connection_is_read_again_on_a_fresh_one(
    reads: tuple[AwaitedReads, Loop], engine: Engine
) -> None:
    awaited, loop = reads
    first, _, _ = loop.run(awaited.read(_backend))
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    again, autocommit, _ = loop.run(awaited.read(_backend))
    assert again != first and autocommit


def test_a_failing_statement_is_run_once_and_its_connection_kept(
    reads: tuple[AwaitedReads, Loop],
) -> None:
    awaited, loop = reads
    first, _, _ = loop.run(awaited.read(_backend))
    calls = []

    async def failing(connection: Any) -> None:
        calls.append(1)
        await connection.execute("SELECT no_such_column FROM no_such_table")

    with pytest.raises(ProgrammingError) as refused:  # SQLAlchemy's, as single_read's
        loop.run(awaited.read(failing))
    assert isinstance(refused.value.orig, psycopg.errors.UndefinedTable)
    assert len(calls) == 1
    assert loop.run(awaited.read(_backend))[0] == first  # in autocommit: nothing left open


def test_a_cancelled_read_leaves_no_busy_connection(reads: tuple[AwaitedReads, Loop]) -> None:
    """A client gone mid-statement: psycopg cancels the statement on the server, and the next
    read gets an idle connection in autocommit (a busy one would refuse its statement)."""
    awaited, loop = reads

    async def slow(connection: Any) -> None:
        await connection.execute("SELECT pg_sleep(30)")

    async def cancelled() -> None:
        task = asyncio.ensure_future(awaited.read(slow))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop.run(cancelled())
    assert loop.run(awaited.read(_backend))[1:] == (True, "IDLE")


def test_a_database_out_of_reach_is_sqlalchemys_operational_error(engine: Engine) -> None:
    """The app answers it 503 `service_unavailable`, as for every other read."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's quote reads on the loop: nothing to await")
    loop = Loop()
    unreachable = AwaitedReads(engine.url.set(port=1))
    try:
        with pytest.raises(OperationalError):
            loop.run(unreachable.read(_backend))
    finally:
        loop.stop()


def test_at_most_max_connections_and_all_kept(
    reads: tuple[AwaitedReads, Loop], engine: Engine
) -> None:
    """Six reads at once run on four connections when four is the most (the others wait for
    one), and the next reads find those four open: none is closed and opened again per burst."""
    _, loop = reads
    awaited = AwaitedReads(engine.url, max_connections=4)

    async def slow(connection: Any) -> int:
        await connection.execute("SELECT pg_sleep(0.1)")
        return (await _backend(connection))[0]

    async def six_at_once() -> list[int]:
        return list(await asyncio.gather(*(awaited.read(slow) for _ in range(6))))

    try:
        pids = set(loop.run(six_at_once()))
        assert len(pids) == 4
        assert set(loop.run(six_at_once())) == pids
    finally:
        loop.run(awaited.close())
