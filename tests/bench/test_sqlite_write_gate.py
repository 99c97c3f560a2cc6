"""Regression: on SQLite, more concurrent write requests than pool threads must not stall.

Before the per-process write gate (api._sqlite_write_gate), 100 connections against the
straightforward grab route (a sync endpoint returning a dict, validated on a pool thread after it
returns, inside its write transaction) took all 40 pool threads waiting in BEGIN IMMEDIATE while
the lock holder waited for a thread: one commit per 60 s busy timeout.
"""

from dataclasses import replace

import pytest

from kinsave.bench.context import SCALES
from kinsave.bench.runner import run


@pytest.mark.slow
def test_a_hundred_concurrent_writers_on_sqlite_do_not_stall():
    scale = replace(
        SCALES["tiny"],
        envelopes=5,
        shares=20,
        grab_attempts=400,
        grab_shoppers=200,
        connections=100,
    )
    result = run(["sqlite"], ["grab-storm"], ["http"], scale, 1, lambda *_: None)

    assert result.problems == []
    for measurement in result.measurements:
        assert "service_unavailable" not in measurement.outcomes  # no busy-timeout victims
        assert measurement.p99_ms < 20_000  # a stall shows as the 60 s busy timeout
