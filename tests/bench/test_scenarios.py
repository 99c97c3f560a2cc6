"""Every bench scenario at a tiny scale: the invariant checks must pass. Never timing."""

import pytest

from kinsave.bench.context import SCALES
from kinsave.bench.runner import NOT_YET, SCENARIOS, run


class TestScenarios:
    @pytest.mark.slow
    @pytest.mark.parametrize(
        "scenario", ["grab-storm", "daily-rush", "shop-envelope", "family-envelope"]
    )
    def test_invariants_hold_in_process_and_over_http(self, database_url, scenario):
        result = run(
            [database_url], [scenario], ["in-process", "http"], SCALES["tiny"], 1, lambda *_: None
        )

        assert result.problems == []
        variants = {(m.mode, m.variant) for m in result.measurements}
        for variant in ("kinsave", "kinsave alone", "straightforward", "database limit"):
            assert ("in-process", variant) in variants
        for variant in ("kinsave", "do-nothing", "bare ASGI"):
            assert ("http x1", variant) in variants
        if scenario != "daily-rush":  # the grab storms: a tap's floor beside them
            assert ("http x1", "signed do-nothing") in variants
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0
        # Every variant got the very same attempts (one plan per scenario).
        assert len({m.attempts for m in result.measurements}) == 1

    @pytest.mark.slow
    def test_holiday_holds_every_invariant_and_times_each_endpoint(
        self, database_url, redis_url, monkeypatch
    ):
        monkeypatch.setenv("KINSAVE_REDIS_URL", redis_url)
        result = run([database_url], ["holiday"], ["http"], SCALES["tiny"], 1, _quiet)

        assert result.problems == []
        (kinsave,) = [m for m in result.measurements if m.variant == "kinsave"]
        assert set(kinsave.notes["per_endpoint"]) == {"grab", "daily", "coupon"}
        for code in ("envelope_empty", "budget_exhausted", "coupon_sold_out"):
            assert kinsave.outcomes.get(code, 0) > 0
        assert "signed do-nothing" in {m.variant for m in result.measurements}
        for measurement in result.measurements:
            assert set(measurement.notes["cpu_ms_per_request"]) >= {"loadgen", "api", "redis"}

    def test_every_scenario_is_built(self):
        assert NOT_YET == {}
        assert {
            "grab-storm",
            "daily-rush",
            "coupon-rush",
            "shop-envelope",
            "family-envelope",
            "holiday",
            "quote",
            "checkout",
        } <= set(SCENARIOS)


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
        for variant in ("straightforward", "kinsave one-statement", "kinsave", "database limit"):
            assert ("in-process", variant) in variants
        for variant in ("do-nothing", "straightforward", "kinsave one-statement", "kinsave"):
            assert ("http x1", variant) in variants
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0
            if measurement.variant not in (
                "do-nothing",
                "bare ASGI",
            ):  # the stock ran out (refusals by limit
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
            "database limit",
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
    def test_invariants_hold_for_both_designs_in_process_and_over_http(self, database_url):
        result = run(
            [database_url], ["group-rush"], ["in-process", "http"], SCALES["tiny"], 1, _quiet
        )

        assert result.problems == []
        assert [(m.mode, m.variant) for m in result.measurements] == [
            ("in-process", "straightforward"),
            ("in-process", "kinsave"),
            ("http x1", "bare ASGI"),
            ("http x1", "do-nothing"),
            ("http x1", "straightforward"),
            ("http x1", "kinsave"),
        ]
        for measurement in result.measurements:
            assert sum(measurement.outcomes.values()) == measurement.attempts
            assert measurement.outcomes.get("ok", 0) > 0
            if measurement.variant in ("straightforward", "kinsave"):
                assert measurement.outcomes.get("group_full", 0) > 0
