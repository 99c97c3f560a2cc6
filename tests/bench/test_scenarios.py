"""Every bench scenario at a tiny scale: the invariant checks must pass. Never timing."""

import pytest

from kinsave.bench.context import SCALES
from kinsave.bench.runner import SCENARIOS, run


class TestScenarios:
    @pytest.mark.slow
    @pytest.mark.parametrize("scenario", sorted(SCENARIOS))
    def test_invariants_hold_in_process_and_over_http(self, database_url, scenario):
        result = run(
            [database_url], [scenario], ["in-process", "http"], SCALES["tiny"], 1, lambda *_: None
        )

        assert result.problems == []
        variants = {(m.mode, m.variant) for m in result.measurements}
        assert ("in-process", "kinsave") in variants
        assert ("in-process", "straightforward") in variants
        assert ("in-process", "raw limit") in variants
        assert ("http x1", "kinsave") in variants
        assert ("http x1", "do-nothing") in variants
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0
