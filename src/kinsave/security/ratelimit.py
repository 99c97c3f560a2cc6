"""Sliding-window rate limits per shopper, device, IP or store key: Redis when configured, else
the database. A refusal is 429 `rate_limited` with Retry-After.

Each limit keeps one counter per fixed window and weighs the previous window's count by the part
of it the sliding window still covers (security/sliding_window.py states the bound), so a burst
across a window edge no longer gets twice the limit.

Redis: INCRBY and EXPIRE of this window's key and GET of the previous one in one MULTI (a check:
one MGET). Both keys carry the limit and subject as their hash tag,
`kinsave:rl:{<limit>:<subject>}:<window>`, so on a Redis Cluster (`redis+cluster://`) they live
in one slot and each call runs on one node. Database: two rows per limit and subject, one per
window parity (`key#0`, `key#1`); a hit is one conditional upsert of this window's row
(`count + 1` in the same window, `1` when the row held the window before last) in its own short
transaction, so the count survives the request's rollback and concurrent hits never lose one. A
row stays until its window can no longer weigh (the end of the next window). If Redis fails, the
database counts instead and Redis is retried after a pause. The sweeper deletes rows that can no
longer weigh (`delete_expired_counters`).
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
from kinsave.redis_client import redis_client
from kinsave.security import sliding_window
from kinsave.security.models import RateCounter

logger = logging.getLogger("kinsave.ratelimit")
REDIS_RETRY_SECONDS = 5.0
KEY_LENGTH = 197  # the column holds 200: room for the window parity suffix "#0" / "#1"


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
        """Count one hit; raise rate_limited once the sliding estimate is over the limit."""
        if limit.count == 0:
            return
        count, retry_after = self.count(name, subject, limit, add=1, now=now)
        if count > limit.count:
            raise rate_limited(name, retry_after)

    def check(self, name: str, subject: str, limit: Limit, *, now: float | None = None) -> None:
        """Refuse when one more hit would be over the limit, without counting."""
        if limit.count == 0:
            return
        count, retry_after = self.count(name, subject, limit, add=0, now=now)
        if count >= limit.count:
            raise rate_limited(name, retry_after)

    def count(
        self, name: str, subject: str, limit: Limit, *, add: int, now: float | None = None
    ) -> tuple[int, int]:
        """The estimated hits of the last `limit.seconds` after adding `add`, and the seconds
        until one more hit would pass."""
        now = time.time() if now is None else now
        at = sliding_window.position(now, limit.seconds)
        key = f"{name}:{subject}"[:KEY_LENGTH]
        counts: tuple[int, int] | None = None
        if self.redis is not None and time.monotonic() >= self.redis_down_until:
            try:
                counts = self._redis_count(key, at.window, limit.seconds, add)
                self.last_backend = "redis"
            except Exception as error:  # noqa: BLE001 - any Redis failure falls back
                logger.warning("rate limiter: Redis failed (%s); counting in the database", error)
                self.redis_down_until = time.monotonic() + self.redis_retry_seconds
        if counts is None:
            self.last_backend = "database"
            counts = self._db_count(key, at.window, limit.seconds, add)
        previous, current = counts
        estimate = sliding_window.estimate(previous, current, at.elapsed, limit.seconds)
        retry_after = sliding_window.seconds_until_allowed(
            previous, current, at.elapsed, limit.count, limit.seconds
        )
        return estimate, retry_after

    def _redis_count(self, key: str, window: int, seconds: int, add: int) -> tuple[int, int]:
        """(previous window's count, this window's count after adding `add`)."""
        this_key, previous_key = (f"kinsave:rl:{{{key}}}:{w}" for w in (window, window - 1))
        if add == 0:
            previous, current = self.redis.mget(previous_key, this_key)
            return int(previous or 0), int(current or 0)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incrby(this_key, add)
        pipe.expire(this_key, 2 * seconds + 1)  # it weighs as "previous" through the next window
        pipe.get(previous_key)
        current, _, previous = pipe.execute()
        return int(previous or 0), int(current)

    def _db_count(self, key: str, window: int, seconds: int, add: int) -> tuple[int, int]:
        """(previous window's count, this window's count after adding `add`), each in its row."""
        this_key, previous_key = (f"{key}#{w % 2}" for w in (window, window - 1))
        with unit_of_work(self.session_factory) as session:
            previous_row = session.get(RateCounter, previous_key)
            previous = _count_in(previous_row, window - 1)
            if add == 0:
                return previous, _count_in(session.get(RateCounter, this_key), window)
            # Weighs until the end of the next window, as that window's "previous".
            expires_at = datetime.fromtimestamp((window + 2) * seconds, UTC)
            statement = insert_on_conflict(session, RateCounter).values(
                key=this_key, window_index=window, count=add, expires_at=expires_at
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
            return previous, int(session.execute(upsert).scalar_one())


def _count_in(row: RateCounter | None, window: int) -> int:
    return row.count if row is not None and row.window_index == window else 0


def delete_expired_counters(session: Session, now: datetime, limit: int = 1000) -> int:
    """Delete up to `limit` counters that can no longer weigh by `now` (their window and the next
    one have ended); how many were deleted.

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
    # Short timeouts: a dead Redis must cost a request milliseconds, not seconds.
    return redis_client(url, timeout=0.5, connect_timeout=0.25)
