"""Fixed-window rate limits per shopper, device, IP or store key: Redis when configured, else the
database. A refusal is 429 `rate_limited` with Retry-After.

Redis: INCR then EXPIRE in one MULTI, so the counter and its lifetime are set atomically. Database:
one conditional upsert (`count + 1` in the same window, `1` in a new one) in its own short
transaction, so the count survives the request's rollback and concurrent hits never lose one.
If Redis fails, the database counts instead and Redis is retried after a pause. The sweeper
deletes counter rows whose window has ended (`delete_expired_counters`).
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import insert_on_conflict, unit_of_work
from kinsave.errors import KinsaveError
from kinsave.security.models import RateCounter

logger = logging.getLogger("kinsave.ratelimit")
REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Limit":
        """'20/60' is 20 hits per 60 seconds; a count of 0 turns the limit off."""
        count, _, seconds = text.partition("/")
        limit = cls(int(count), int(seconds or 60))
        if limit.count < 0 or limit.seconds <= 0:
            raise ValueError(f"bad rate limit {text!r}")
        return limit


class RateLimiter:
    def __init__(self, session_factory: sessionmaker[Session], redis_url: str | None) -> None:
        self.session_factory = session_factory
        self.redis: Any = _redis_client(redis_url) if redis_url else None
        self.redis_down_until = 0.0
        self.redis_retry_seconds = REDIS_RETRY_SECONDS
        self.last_backend = "database"

    def hit(self, name: str, subject: str, limit: Limit, *, now: float | None = None) -> None:
        """Count one hit; raise rate_limited once the window's count is over the limit."""
        if limit.count == 0:
            return
        count, retry_after = self.count(name, subject, limit, add=1, now=now)
        if count > limit.count:
            raise rate_limited(name, retry_after)

    def check(self, name: str, subject: str, limit: Limit, *, now: float | None = None) -> None:
        """Refuse when the window is already over the limit, without counting."""
        if limit.count == 0:
            return
        count, retry_after = self.count(name, subject, limit, add=0, now=now)
        if count >= limit.count:
            raise rate_limited(name, retry_after)

    def count(
        self, name: str, subject: str, limit: Limit, *, add: int, now: float | None = None
    ) -> tuple[int, int]:
        """The window's count after adding `add`, and the seconds until the window ends."""
        now = time.time() if now is None else now
        window = int(now // limit.seconds)
        retry_after = max(1, int((window + 1) * limit.seconds - now + 0.999))
        key = f"{name}:{subject}"[:200]
        if self.redis is not None and time.monotonic() >= self.redis_down_until:
            try:
                count = self._redis_count(key, window, limit.seconds, add)
                self.last_backend = "redis"
                return count, retry_after
            except Exception as error:  # noqa: BLE001 - any Redis failure falls back
                logger.warning("rate limiter: Redis failed (%s); counting in the database", error)
                self.redis_down_until = time.monotonic() + self.redis_retry_seconds
        self.last_backend = "database"
        window_end = datetime.fromtimestamp((window + 1) * limit.seconds, UTC)
        return self._db_count(key, window, window_end, add), retry_after

    def _redis_count(self, key: str, window: int, seconds: int, add: int) -> int:
        redis_key = f"kinsave:rl:{key}:{window}"
        if add == 0:
            return int(self.redis.get(redis_key) or 0)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incrby(redis_key, add)
        pipe.expire(redis_key, seconds + 1)
        return int(pipe.execute()[0])

    def _db_count(self, key: str, window: int, window_end: datetime, add: int) -> int:
        with unit_of_work(self.session_factory) as session:
            if add == 0:
                row = session.get(RateCounter, key)
                return row.count if row is not None and row.window_index == window else 0
            statement = insert_on_conflict(session, RateCounter).values(
                key=key, window_index=window, count=add, expires_at=window_end
            )
            same_window = RateCounter.window_index == statement.excluded.window_index
            upsert = statement.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "count": case((same_window, RateCounter.count + add), else_=add),
                    "window_index": statement.excluded.window_index,
                    "expires_at": statement.excluded.expires_at,
                },
            ).returning(RateCounter.count)
            return int(session.execute(upsert).scalar_one())


def delete_expired_counters(session: Session, now: datetime, limit: int = 1000) -> int:
    """Delete up to `limit` counters whose window ended by `now`; how many were deleted.

    Safe beside live hits and other sweepers: the outer `expires_at <= now` is checked again on
    the row as it is when deleted, so a counter that a hit just moved into a new window stays.
    """
    ended = select(RateCounter.key).where(RateCounter.expires_at <= now).limit(limit)
    deleted = session.execute(
        delete(RateCounter)
        .where(RateCounter.key.in_(ended), RateCounter.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


def rate_limited(name: str, retry_after: int) -> KinsaveError:
    return KinsaveError(
        "rate_limited",
        f"too many requests ({name}); retry after {retry_after} s",
        details={"retry_after": retry_after, "limit": name},
    )


def _redis_client(url: str) -> Any:
    import redis

    # Short timeouts: a dead Redis must cost a request milliseconds, not seconds.
    return redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5)
