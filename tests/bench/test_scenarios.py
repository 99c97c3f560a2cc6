"""Every bench scenario at a tiny scale: the invariant checks must pass. Never timing."""

import pytest

from kinsave.bench.context import SCALES
from kinsave.bench.runner import NOT_YET, SCENARIOS, run


class TestScenarios:
    @pytest.mark.slow
    @pytest.mark.parametrize("scenario", ["grab-storm", "daily-rush"])
    def test_invariants_hold_in_process_and_over_http(self, database_url, scenario):
        result = run(
            [database_url], [scenario], ["in-process", "http"], SCALES["tiny"], 1, lambda *_: None
        )

        assert result.problems == []
        variants = {(m.mode, m.variant) for m in result.measurements}
        assert ("in-process", "kinsave") in variants
        assert ("in-process", "straightforward") in variants
        assert ("in-process", "kinsave alone") in variants
        assert ("http x1", "kinsave") in variants
        assert ("http x1", "do-nothing") in variants
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0

    def test_every_scenario_is_built(self):
        assert NOT_YET == {}
        assert {"grab-storm", "daily-rush", "coupon-rush", "quote", "checkout"} <= set(SCENARIOS)


class TestCouponRush:
    @pytest.mark.slow
    def test_invariants_hold_with_the_gate(self, database_url, redis_url, monkeypatch):
        monkeypatch.setenv("KINSAVE_REDIS_URL", redis_url)
        result = run(
            [database_url], ["coupon-rush"], ["in-process", "http"], SCALES["tiny"], 1, _quiet
        )

        assert result.problems == []
        assert result.skipped == []
        variants = {(m.mode, m.variant) for m in result.measurements}
        for variant in ("straightforward", "kinsave one-statement", "kinsave", "raw limit"):
            assert ("in-process", variant) in variants
        for variant in ("do-nothing", "straightforward", "kinsave one-statement", "kinsave"):
            assert ("http x1", variant) in variants
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0
            if measurement.variant != "do-nothing":  # the stock ran out (refusals by limit
                assert measurement.outcomes.get("coupon_sold_out", 0) > 0  # depend on timing)

    @pytest.mark.slow
    def test_without_redis_kinsave_claims_without_the_gate(self, monkeypatch):
        monkeypatch.setenv("KINSAVE_REDIS_URL", "redis://127.0.0.1:1/0")
        result = run(["sqlite"], ["coupon-rush"], ["in-process"], SCALES["tiny"], 1, _quiet)

        assert result.problems == []
        assert [m.variant for m in result.measurements] == [
            "straightforward",
            "kinsave one-statement",
            "kinsave",
            "raw limit",
        ]


class TestQuote:
    @pytest.mark.slow
    def test_every_answer_keeps_the_optimisers_invariants(self, database_url):
        result = run([database_url], ["quote"], ["in-process", "http"], SCALES["tiny"], 1, _quiet)

        assert result.problems == []
        variants = {(m.mode, m.variant) for m in result.measurements}
        assert variants == {
            ("in-process", "optimiser typical"),
            ("in-process", "optimiser worst case"),
            ("http x1", "do-nothing"),
            ("http x1", "quote"),
        }
        for measurement in result.measurements:
            assert measurement.outcomes == {"ok": measurement.attempts}


def _quiet(*_args: object) -> None:
    pass


class TestGroupRush:
    @pytest.mark.slow
    def test_invariants_hold_for_both_designs(self, database_url):
        result = run([database_url], ["group-rush"], ["in-process"], SCALES["tiny"], 1, _quiet)

        assert result.problems == []
        assert [m.variant for m in result.measurements] == ["straightforward", "kinsave"]
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0
            assert measurement.outcomes.get("group_full", 0) > 0
