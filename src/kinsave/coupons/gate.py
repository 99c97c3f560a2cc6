"""An optional Redis gate in front of the claim rush (KINSAVE_REDIS_URL).

Redis keeps a per-template count of the stock left. Claims take units before they touch the
database (a batch of claims takes all of its units in one call), so once a coupon is sold out the
flood of late claimers is refused by Redis alone. The database stays the record and still decides
every claim: the gate only ever refuses claims that the database would refuse too, as long as its
count is not below the truth. A claim that the database refuses gives its unit back; a count that
drifted anyway (a crash between the two) lives at most TTL_SECONDS and is then re-read from the
database. When Redis is unreachable the gate lets everyone through, and leaves Redis alone for
RETRY_SECONDS before trying it again.
"""

import logging
import time
from collections.abc import Callable

import redis

from kinsave.ops.metrics import count_gate_decisions

log = logging.getLogger("kinsave.coupons.gate")
GATE = "coupon"  # its label in kinsave_gate_decisions_total

TTL_SECONDS = 10
# A claim asks the gate inside its database transaction: a Redis that hangs must cost one
# timeout per pause, not one per claim (on SQLite every claim would hold the write lock that long).
RETRY_SECONDS = 5.0
# Atomically take up to ARGV[1] units: nil when the count must be seeded first, else how many were
# taken (fewer than asked, down to 0, once the stock runs out).
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local granted = math.max(0, math.min(tonumber(redis.call('GET', KEYS[1])), tonumber(ARGV[1])))
if granted > 0 then redis.call('DECRBY', KEYS[1], granted) end
return granted
"""
# Give units back only to a live count: INCRBY on an expired key would create a count without a
# TTL holding just the units given back, far below the truth, refusing claims for good.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
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

    def take(self, template_id: str, wanted: int, stock_left: Callable[[], int]) -> int:
        """Take up to `wanted` units; how many were taken (fewer once Redis knows the stock is
        gone). While Redis is unusable, all of them: the database alone decides."""
        if not self.in_use:
            count_gate_decisions(GATE, miss=wanted)
            return wanted
        key = self.key(template_id)
        try:
            taken = self._take(keys=[key], args=[wanted])
            if taken is None:
                self._redis.set(key, stock_left(), ex=TTL_SECONDS, nx=True)
                taken = self._take(keys=[key], args=[wanted])
        except redis.RedisError:
            self._stop_using("the database alone decides")
            count_gate_decisions(GATE, miss=wanted)
            return wanted
        if taken is None:  # the count expired between the two calls: the database decides
            count_gate_decisions(GATE, miss=wanted)
            return wanted
        count_gate_decisions(GATE, admit=int(taken), refuse=wanted - int(taken))
        return int(taken)

    def give_back(self, template_id: str, units: int) -> None:
        """Give back units taken by claims that the database then refused (or never ran)."""
        if units <= 0 or not self.in_use:
            return  # the count is re-read from the database within TTL_SECONDS anyway
        try:
            self._give(keys=[self.key(template_id)], args=[units])
        except redis.RedisError:
            self._stop_using(f"its count resyncs within {TTL_SECONDS}s")

    def _stop_using(self, consequence: str) -> None:
        self._unused_until = time.monotonic() + self.retry_seconds
        log.warning(
            "claim gate unavailable; %s; Redis is retried in %.1fs", consequence, self.retry_seconds
        )
