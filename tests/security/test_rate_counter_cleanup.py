"""The database's rate-limit counters are deleted by the sweeper and `kinsave expire` once they can
no longer weigh: their window and the next one (where they count as the previous window) ended.
A limit and subject has one row per window parity (`key#0`, `key#1`)."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select

from kinsave.cli import app
from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.jobs import SWEEP_JOBS, Sweeper, delete_expired_rate_counters
from kinsave.security.models import RateCounter
from kinsave.security.ratelimit import Limit, RateLimiter

MINUTE = Limit(5, 60)
HOUR = Limit(5, 3600)
T0 = 1_800_000_000.0  # a window start for both limits (divisible by 3600)


def _counters(session_factory) -> dict[str, int]:
    with unit_of_work(session_factory) as session:
        rows = session.execute(select(RateCounter.key, RateCounter.count))
        return {key: count for key, count in rows}


def _by_subject(session_factory) -> dict[str, int]:
    """The counters without their window parity suffix (which depends on the clock)."""
    return {key.rsplit("#", 1)[0]: count for key, count in _counters(session_factory).items()}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class TestDeleteExpiredCounters:
    def test_only_counters_that_no_longer_weigh_are_deleted(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        for subject in ("ip:a", "ip:b"):
            limiter.hit("claim", subject, MINUTE, now=T0)
        limiter.hit("claim", "ip:a", MINUTE, now=T0 + 1)
        limiter.hit("resolve", "ip:a", HOUR, now=T0)
        # T0's minute ended, but it weighs through the next minute: nothing goes.
        assert delete_expired_rate_counters(session_factory, _at(T0 + 119)).deleted == 0
        assert _counters(session_factory) == {
            "claim:ip:a#0": 2,
            "claim:ip:b#0": 1,
            "resolve:ip:a#0": 1,
        }
        # A hit two windows on reuses ip:b's row of that parity: it is live again and stays.
        limiter.hit("claim", "ip:b", MINUTE, now=T0 + 121)
        assert delete_expired_rate_counters(session_factory, _at(T0 + 121)).deleted == 1
        assert _counters(session_factory) == {"claim:ip:b#0": 1, "resolve:ip:a#0": 1}

    def test_two_sweepers_delete_each_counter_once(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        for n in range(60):
            limiter.hit("claim", f"ip:{n}", MINUTE, now=T0)
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(
                pool.map(
                    lambda _: delete_expired_rate_counters(session_factory, _at(T0 + 120)), [1, 2]
                )
            )
        assert sum(r.deleted for r in reports) == 60 and _counters(session_factory) == {}


class TestSweeperRunsTheCleanup:
    def test_the_sweeper_deletes_counters_of_ended_windows(self, session_factory):
        assert "rate counter cleanup" in dict(SWEEP_JOBS)
        limiter = RateLimiter(session_factory, None)
        limiter.hit("grab", "ip:old", MINUTE, now=time.time() - 180)
        limiter.hit("grab", "ip:now", MINUTE)
        Sweeper(session_factory, interval=60, settings=Settings()).sweep_once()
        assert _by_subject(session_factory) == {"grab:ip:now": 1}


class TestExpireCommandRunsTheCleanup:
    def test_kinsave_expire_deletes_counters_of_ended_windows(self, session_factory, cli):
        limiter = RateLimiter(session_factory, None)
        limiter.hit("grab", "ip:old", MINUTE, now=time.time() - 180)
        # An hour's window, so the live counter cannot end while the command runs.
        limiter.hit("grab", "ip:now", HOUR)
        result = cli.invoke(app, ["expire"])
        assert result.exit_code == 0, result.output
        assert "deleted 1 ended rate-limit counters" in result.output
        assert _by_subject(session_factory) == {"grab:ip:now": 1}
