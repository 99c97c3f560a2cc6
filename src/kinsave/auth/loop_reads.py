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
"""

import sqlite3
import threading
from datetime import datetime

from sqlalchemy.engine import Engine

from kinsave.auth import service
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.errors import KinsaveError

Resolved = tuple[ShopperPrincipal, datetime] | KinsaveError


class LoopSessionReads:
    """`resolve(token)`: the token's shopper and expiry, unauthorized, or None (not read here)."""

    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the tests' clients run loops on threads of their own

    def resolve(self, token: str) -> Resolved | None:
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._connection is None:
                self._connection = _open(self._path)
            return service.resolve_session_sqlite(self._connection, token)
        except sqlite3.Error:  # busy, or anything else: the batcher's read will tell
            return None
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
