"""Shopper sessions in Redis, shared by every API process: a new token costs no database read.

Each storm shopper is new to the server, so each tap used to read its session in the database
(the session batcher: a thread hop and a query, docs/benchmarks.md). With KINSAVE_REDIS_URL set,
a session is also one key, `ks:session:{<token hash>}`, its own hash tag (one Redis Cluster
slot per key), holding `v|<expiry, UNIX seconds>|<shopper id>` or the tombstone `r`, and
expiring when the session does. The database stays the truth; the key is kept exact:
- sign-in writes it once its transaction commits (`SET NX`): a token nobody was given never
  works, and a failed write only costs the token's first request a database read;
- a read of the database that found the session (a miss: the key was never written, or Redis
  was flushed or restarted) writes it back with `SET NX`, so that it never overwrites anything,
  for at most BACKFILL_SECONDS: the one gap left is a flush that lands between a backfill's read
  and its write while a revocation commits, which would bring back the revoked session; the
  bound makes that last minutes, not until the session expires;
- revocation writes the tombstone unconditionally BEFORE its transaction commits: a Redis that
  cannot take it makes the revocation fail (rolled back), never half-done; a backfill that read
  the row before the revocation committed finds the tombstone and writes nothing (NX);
- an expired session never works: its expiry is checked at every lookup (and Redis drops it).
The lookups of one event-loop turn go together, one MGET (cluster: one per node) per turn.
PostgreSQL only (shared_sessions_for): SQLite reads a session on the loop instead.
"""

import asyncio
import math
import time
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis.asyncio
import redis.asyncio.cluster
from sqlalchemy import event
from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError
from kinsave.redis_client import REDIS_ERRORS, is_cluster, redis_client

SESSIONS_STARTED = "kinsave.sessions_started"
SESSIONS_ENDED = "kinsave.sessions_ended"
TOMBSTONE = b"r"
PAUSE_SECONDS = 2.0
BACKFILL_SECONDS = 600  # a written-back key is read again from the database after this
# (token hash, shopper id, expires at): a live session; (token hash, expires at): one revoked.
Started = tuple[str, str, datetime]
Ended = tuple[str, datetime]
# A lookup's answer: (shopper id, expiry in UNIX seconds), "revoked", or None (not in Redis).
Found = tuple[str, float] | str | None


def shared_sessions_for(redis_url: str | None, bind: Any) -> "SharedSessions | None":
    """The sessions' Redis for a PostgreSQL database when Redis is set, else None. On SQLite a
    session the process does not know is read on the event loop (auth/loop_reads.py): a few
    microseconds, exact for any number of processes, cheaper than the Redis round trip it would
    replace (shop-envelope over HTTP on SQLite with Redis gates: 58-61 % of do-nothing's req/s
    with sessions read on the loop, 50-53 % from Redis; docs/benchmarks.md "Where the goals
    stand: session 10")."""
    if not redis_url or bind.dialect.name == "sqlite":
        return None
    return SharedSessions(redis_url, database_of(bind))


def session_key(token_hash: str) -> str:
    return f"ks:session:{{{token_hash}}}"


class SharedSessions:
    """The sessions' keys in one Redis (or Cluster): lookups on the event loop, writes from
    threads (sign-in, backfill, revocation)."""

    def __init__(self, url: str, database: str) -> None:
        self.url, self.database = url, database  # whose sessions: its transactions write here
        self.client: Any = redis_client(url, timeout=0.5, connect_timeout=0.5)
        self._lookups: _Lookups | None = None
        self._paused_until = 0.0
        _STORES.add(self)

    @property
    def in_use(self) -> bool:
        """False for PAUSE_SECONDS after Redis failed: lookups and sign-ins leave it alone (a
        hung Redis costs one socket timeout per pause, not one per request), as the gates do."""
        return time.monotonic() >= self._paused_until

    async def find(self, token_hash: str) -> Found:
        """The session of this token hash as Redis has it; None when it is not there, or Redis
        is paused or fails (the database answers)."""
        if not self.in_use:
            return None
        loop = asyncio.get_running_loop()
        lookups = self._lookups
        if lookups is None or lookups.loop is not loop:  # a client belongs to the loop it runs on
            lookups = _Lookups(loop, _async_client(self.url))
            self._lookups = lookups
        try:
            return found_of(await lookups.get(session_key(token_hash)))
        except REDIS_ERRORS:
            self._pause()
            return None

    def remember(self, started: Sequence[Started], backfill: bool = False) -> None:
        """Live sessions (a sign-in, or a backfill: kept BACKFILL_SECONDS at most), with SET NX:
        never over a tombstone. A Redis that fails (or is paused) is left alone: those tokens'
        requests read the database."""
        if not started or not self.in_use:
            return
        pipe = self.client.pipeline(transaction=False)
        kept_until = math.ceil(time.time()) + BACKFILL_SECONDS if backfill else math.inf
        for token_hash, shopper_id, expires_at in started:
            expiry = int(min(math.ceil(expires_at.timestamp()), kept_until))
            value = f"v|{expires_at.timestamp()}|{shopper_id}"
            pipe.set(session_key(token_hash), value, nx=True, exat=expiry)
        try:
            pipe.execute()
        except REDIS_ERRORS:
            self._pause()

    def end(self, ended: Sequence[Ended]) -> None:
        """Revoked sessions' tombstones, unconditional, even while paused (a tombstone not
        written would let Redis's old key answer once it is back). Redis errors are raised."""
        pipe = self.client.pipeline(transaction=False)
        for token_hash, expires_at in ended:
            pipe.set(session_key(token_hash), TOMBSTONE, exat=_later(expires_at))
        pipe.execute()

    async def close(self) -> None:
        """Close the event loop's connections (at shutdown, on that loop)."""
        lookups, self._lookups = self._lookups, None
        if lookups is not None and lookups.loop is asyncio.get_running_loop():
            await lookups.client.aclose()
        self.client.close()

    def _pause(self) -> None:
        self._paused_until = time.monotonic() + PAUSE_SECONDS


def found_of(raw: bytes | None) -> Found:
    if raw is None:
        return None
    if raw == TOMBSTONE:
        return "revoked"
    _, expiry, shopper_id = raw.decode().split("|", 2)
    return shopper_id, float(expiry)


def _later(expires_at: datetime) -> int:
    # A tombstone outlives its session by a minute: no clock skew between Redis and us revives it.
    return max(math.ceil(expires_at.timestamp()) + 60, math.ceil(time.time()) + 60)


def _async_client(url: str) -> Any:
    options: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    if is_cluster(url):
        plain = "redis://" + url.split("://", 1)[1]
        return redis.asyncio.cluster.RedisCluster.from_url(plain, **options)
    return redis.asyncio.Redis.from_url(url, **options)


class _Lookups:
    """One event loop's lookups: at most one MGET out at a time; those asked meanwhile go in
    the next."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Any) -> None:
        self.loop, self.client = loop, client
        self._cluster = isinstance(client, redis.asyncio.cluster.RedisCluster)
        self._waiting: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def get(self, key: str) -> bytes | None:
        answer: asyncio.Future[bytes | None] = self.loop.create_future()
        self._waiting.append((key, answer))
        if self._sending is None:
            self._sending = self.loop.create_task(self._send_all())
        return await answer

    async def _send_all(self) -> None:
        await asyncio.sleep(0)  # the requests read in this same turn ask too
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                keys = [key for key, _ in waiting]
                try:
                    values = await (
                        self.client.mget_nonatomic(keys)
                        if self._cluster
                        else self.client.mget(keys)
                    )
                except Exception as error:  # noqa: BLE001 - each asker decides what it means
                    waiting += self._waiting  # asked meanwhile: not another timeout for them
                    self._waiting = []
                    for _, answer in waiting:
                        if not answer.done():
                            answer.set_exception(error)
                else:
                    for (_, answer), value in zip(waiting, values, strict=True):
                        if not answer.done():
                            answer.set_result(value)
        finally:
            self._sending = None


_STORES: "weakref.WeakSet[SharedSessions]" = weakref.WeakSet()


def announce_started(session: Session, started: Sequence[Started]) -> None:
    """These sessions go to Redis once this transaction commits (auth.service, the bench seed)."""
    session.info.setdefault(SESSIONS_STARTED, []).extend(started)


def announce_ended(session: Session, ended: Sequence[Ended]) -> None:
    """These sessions' tombstones go to Redis before this transaction commits."""
    session.info.setdefault(SESSIONS_ENDED, []).extend(ended)


def _stores_of(session: Session) -> list[SharedSessions]:
    database = database_of(session.get_bind())
    return [store for store in list(_STORES) if store.database == database]


def database_of(bind: Any) -> str:
    return str(bind.url.render_as_string(hide_password=False))


@event.listens_for(Session, "before_commit")
def _end_before_commit(session: Session) -> None:
    ended = session.info.pop(SESSIONS_ENDED, None)
    for store in _stores_of(session) if ended else []:
        try:
            store.end(ended)
        except REDIS_ERRORS as error:  # the revocation rolls back: retry it when Redis answers
            raise KinsaveError(
                "service_unavailable", "sessions can not be ended now; retry"
            ) from error


@event.listens_for(Session, "after_commit")
def _start_after_commit(session: Session) -> None:
    started = session.info.pop(SESSIONS_STARTED, None)
    for store in _stores_of(session) if started else []:
        store.remember(started)  # failing: the token's first request reads the database


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(SESSIONS_STARTED, None)
    session.info.pop(SESSIONS_ENDED, None)
