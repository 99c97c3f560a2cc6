"""A sweeper whose database is gone logs one line per failing job per try, tries less and less
often (up to a cap), and says once when the database is back."""

import logging

import pytest

from kinsave.config import Settings
from kinsave.db import make_engine, make_session_factory
from kinsave.jobs import SWEEP_JOBS, Sweeper
from kinsave.migrate import upgrade_to_head
from tests.ops.conftest import ScratchDatabase

INTERVAL = 1.0
CAP = 8.0
PASSES = 50


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestSweeperBackoff:
    def test_an_outage_logs_a_line_per_try_with_growing_waits(
        self,
        settings: Settings,
        scratch_database: ScratchDatabase,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        scratch = settings.model_copy(
            update={"database_url": scratch_database.url, "sweeper_max_backoff_seconds": CAP}
        )
        upgrade_to_head(scratch)
        engine = make_engine(scratch)
        clock = FakeClock()
        sweeper = Sweeper(make_session_factory(engine), INTERVAL, scratch, clock=clock)
        caplog.set_level(logging.INFO, logger="kinsave.jobs")
        sweeper.sweep_once()
        # The sweeper's own lines: an earlier test's app may still be asking Telegram's getMe in
        # the background, and its warning is not this sweeper's (CI failed on it once).
        jobs = [r for r in caplog.records if r.name.startswith("kinsave.jobs")]
        assert not [r for r in jobs if r.levelno >= logging.WARNING]

        scratch_database.drop()
        engine.dispose()  # no pooled connection outlives the database
        caplog.clear()
        tries_at: list[float] = []
        for _ in range(PASSES):  # 50 passes, a second apart
            before = len(caplog.records)
            sweeper.sweep_once()
            if len(caplog.records) > before:
                tries_at.append(clock.now)
            clock.now += INTERVAL

        failures = [r for r in caplog.records if r.levelno == logging.ERROR]
        # Tries at 0, 1, 3, 7, 15 s, then every 8 s (the cap): 9 in 50 s, one line per job each.
        assert [t - 1000.0 for t in tries_at] == [0, 1, 3, 7, 15, 23, 31, 39, 47]
        assert len(failures) == len(tries_at) * len(SWEEP_JOBS)
        assert all(r.exc_info is None and "\n" not in r.getMessage() for r in failures)
        assert {r.job for r in failures} == {name for name, _ in SWEEP_JOBS}
        assert max(r.retry_in_s for r in failures) == CAP

        scratch_database.create()
        upgrade_to_head(scratch)
        caplog.clear()
        clock.now += CAP
        sweeper.sweep_once()
        sweeper.sweep_once()
        recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
        assert len(recovered) == len(SWEEP_JOBS)
        assert not [r for r in caplog.records if r.levelno == logging.ERROR]
        engine.dispose()
