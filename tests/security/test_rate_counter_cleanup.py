"""The database's rate-limit counters are deleted by the sweeper and `kinsave expire` once their
window has ended."""

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


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class TestDeleteExpiredCounters:
    def test_only_ended_windows_are_deleted(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        for subject in ("ip:a", "ip:b"):
            limiter.hit("claim", subject, MINUTE, now=T0)
        limiter.hit("claim", "ip:a", MINUTE, now=T0 + 1)
        limiter.hit("resolve", "ip:a", HOUR, now=T0)
        assert delete_expired_rate_counters(session_factory, _at(T0 + 59)).deleted == 0
        assert _counters(session_factory) == {"claim:ip:a": 2, "claim:ip:b": 1, "resolve:ip:a": 1}

        # A hit in the next window moved ip:b's counter on: it is live again and stays.
        limiter.hit("claim", "ip:b", MINUTE, now=T0 + 61)
        assert delete_expired_rate_counters(session_factory, _at(T0 + 61)).deleted == 1
        assert _counters(session_factory) == {"claim:ip:b": 1, "resolve:ip:a": 1}

    def test_two_sweepers_delete_each_counter_once(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        for n in range(60):
            limiter.hit("claim", f"ip:{n}", MINUTE, now=T0)
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(
                pool.map(
                    lambda _: delete_expired_rate_counters(session_factory, _at(T0 + 60)), [1, 2]
                )
            )
        assert sum(r.deleted for r in reports) == 60 and _counters(session_factory) == {}


class TestSweeperRunsTheCleanup:
    def test_the_sweeper_deletes_counters_of_ended_windows(self, session_factory):
        assert "rate counter cleanup" in dict(SWEEP_JOBS)
        limiter = RateLimiter(session_factory, None)
        limiter.hit("grab", "ip:old", MINUTE, now=time.time() - 120)
        limiter.hit("grab", "ip:now", MINUTE)
        Sweeper(session_factory, interval=60, settings=Settings()).sweep_once()
        assert _counters(session_factory) == {"grab:ip:now": 1}


class TestExpireCommandRunsTheCleanup:
    def test_kinsave_expire_deletes_counters_of_ended_windows(self, session_factory, cli):
        limiter = RateLimiter(session_factory, None)
        limiter.hit("grab", "ip:old", MINUTE, now=time.time() - 120)
        # An hour's window, so the live counter cannot end while the command runs.
        limiter.hit("grab", "ip:now", HOUR)
        result = cli.invoke(app, ["expire"])
        assert result.exit_code == 0, result.output
        assert "deleted 1 ended rate-limit counters" in result.output
        assert _counters(session_factory) == {"grab:ip:now": 1}
