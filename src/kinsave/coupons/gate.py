"""An optional Redis gate in front of the claim rush (KINSAVE_REDIS_URL).

Redis keeps a per-template count of the stock left. A claim takes one before it touches the
database, so once a coupon is sold out the flood of late claimers is refused by Redis alone. The
database stays the record and still decides every claim: the gate only ever refuses claims that
the database would refuse too, as long as its count is not below the truth. A claim that the
database refuses gives its unit back; a count that drifted anyway (a crash between the two)
lives at most TTL_SECONDS and is then re-read from the database. When Redis is unreachable the
gate lets everyone through, and leaves Redis alone for RETRY_SECONDS before trying it again.
"""

import logging
import time
from collections.abc import Callable

import redis

log = logging.getLogger("kinsave.coupons.gate")

TTL_SECONDS = 10
# A claim asks the gate inside its database transaction: a Redis that hangs must cost one
# timeout per pause, not one per claim (on SQLite every claim would hold the write lock that long).
RETRY_SECONDS = 5.0
# Atomically take one unit: nil when the count must be seeded first, else what is left (a
# negative answer means sold out, and the unit was not taken).
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local left = redis.call('DECR', KEYS[1])
if left < 0 then redis.call('INCR', KEYS[1]) end
return left
"""
# Give one unit back only to a live count: INCR on an expired key would create a count without a
# TTL holding just the units given back, far below the truth, refusing claims for good.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return false
"""


class ClaimGate:
    def __init__(self, url: str, *, retry_seconds: float = RETRY_SECONDS) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)
        self._give = self._redis.register_script(_GIVE_BACK)
        self.retry_seconds = retry_seconds
        self._unused_until = 0.0  # time.monotonic() before which Redis is not asked

    @property
    def in_use(self) -> bool:
        """False while the gate waits out a Redis failure (the database alone decides)."""
        return time.monotonic() >= self._unused_until

    @staticmethod
    def key(template_id: str) -> str:
        return f"kinsave:coupon-stock-left:{template_id}"

    def enter(self, template_id: str, stock_left: Callable[[], int]) -> bool:
        """Take one unit; False when Redis already knows the coupon is sold out."""
        if not self.in_use:
            return True
        key = self.key(template_id)
        try:
            left = self._take(keys=[key])
            if left is None:
                self._redis.set(key, stock_left(), ex=TTL_SECONDS, nx=True)
                left = self._take(keys=[key])
        except redis.RedisError:
            self._stop_using("the database alone decides")
            return True
        return left is None or int(left) >= 0

    def leave(self, template_id: str) -> None:
        """Give back a unit taken by a claim that the database then refused."""
        self._give_back(self.key(template_id))

    def _give_back(self, key: str) -> None:
        if not self.in_use:
            return  # the count is re-read from the database within TTL_SECONDS anyway
        try:
            self._give(keys=[key])
        except redis.RedisError:
            self._stop_using(f"its count resyncs within {TTL_SECONDS}s")

    def _stop_using(self, consequence: str) -> None:
        self._unused_until = time.monotonic() + self.retry_seconds
        log.warning(
            "claim gate unavailable; %s; Redis is retried in %.1fs", consequence, self.retry_seconds
        )
