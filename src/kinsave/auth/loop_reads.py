"""A session the process does not know, read on the event loop itself (SQLite files only).

Each storm shopper is new to the server, so each of their taps used to hand its token to the
session batcher: a thread hop there and back for one indexed read, 0.065-0.08 ms of a refused
tap's CPU (docs/benchmarks.md, "A refused tap's cost, session 9"). On SQLite that read costs a
few microseconds in this process, so it is made where the request is: on a connection of its
own that never waits for a lock (busy timeout 0) and only reads. When it cannot read at once
(SQLITE_BUSY: a writer's checkpoint or recovery holds the file; another thread holds the
connection) it says so and the token goes to the batcher, as before.

Exact as the batcher's read: the row, with its expiry and its revocation, is read every time.
PostgreSQL keeps the batcher: a read there is a round trip, which the loop must not wait for.

The tokens asked in one event-loop turn are read together, in one statement, at the end of that
turn: a statement's own cost (its read transaction's two shared-memory locks, the statement's
reset, the cursor) is ~4.4 us of the ~6 us of a one-token read in a tight loop, and over HTTP a
new shopper's refusal cost ~30 us more than a seen one's (docs/benchmarks.md, "A new shopper's
session read, session 11").
"""

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from kinsave.auth import service
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.errors import KinsaveError

Resolved = tuple[ShopperPrincipal, datetime] | KinsaveError
Answer = asyncio.Future[Resolved | None]


class LoopSessionReads:
    """`await find(token)`: the token's shopper and expiry, unauthorized, or None (not read
    here), read with the other tokens of this event-loop turn."""

    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the tests' clients run loops on threads of their own
        self._asked: dict[asyncio.AbstractEventLoop, list[tuple[str, Answer]]] = {}

    async def find(self, token: str) -> Resolved | None:
        loop = asyncio.get_running_loop()
        answer: Answer = loop.create_future()
        asked = self._asked.get(loop)
        if asked is None:
            # Runs after every callback already queued for this turn: their tokens join in.
            asked = self._asked[loop] = []
            loop.call_soon(self._read_asked, loop)
        asked.append((token, answer))
        return await answer

    def _read_asked(self, loop: asyncio.AbstractEventLoop) -> None:
        asked = self._asked.pop(loop)
        try:
            resolved = self.resolve_many([token for token, _ in asked])
        except BaseException as error:  # never leave a request waiting for its answer
            for _, answer in asked:
                if not answer.done():
                    answer.set_exception(error)
            raise
        for (_, answer), each in zip(asked, resolved, strict=True):
            if not answer.done():  # its request may have been cancelled meanwhile
                answer.set_result(each)

    def resolve_many(self, tokens: Sequence[str]) -> Sequence[Resolved | None]:
        """Each token's shopper and expiry or unauthorized, in one statement; all None when the
        file cannot be read at once."""
        if not self._lock.acquire(blocking=False):
            return [None] * len(tokens)
        try:
            if self._connection is None:
                self._connection = _open(self._path)
            return service.resolve_sessions_sqlite(self._connection, tokens)
        except sqlite3.Error:  # busy, or anything else: the batcher's read will tell
            return [None] * len(tokens)
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def loop_session_reads(engine: Engine) -> LoopSessionReads | None:
    """The reads of a SQLite file's engine; None for PostgreSQL or an in-memory database (which
    a second connection would not see)."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    return LoopSessionReads(path)


def _open(path: str) -> sqlite3.Connection:
    # timeout 0: a lock held by someone else is SQLITE_BUSY at once, never a wait on the loop.
    connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")
    return connection
