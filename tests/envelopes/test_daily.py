"""The daily red envelope: once per local day, never beyond the budget."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from kinsave.db import unit_of_work
from kinsave.envelopes import daily
from tests.factories import create_campaign, error_code, login, race, shop_key, wallet_balance

FIXED_88 = {"kind": "uniform", "min": 88, "max": 88}


@pytest.fixture
def operator(session_factory):
    return shop_key(session_factory)


def daily_campaign(api, operator, budget=10_000, rule=FIXED_88, **extra):
    return create_campaign(api, operator, budget=budget, daily_rule=rule, **extra)


class TestClaim:
    def test_claim_lands_in_the_wallet_once_a_day(self, api, operator):
        campaign = daily_campaign(api, operator)
        grandma = login(api, "grandma")
        first = api.post(f"/v1/daily/{campaign['id']}/claim", headers=grandma)
        assert first.status_code == 200 and first.json()["amount"] == 88
        again = api.post(f"/v1/daily/{campaign['id']}/claim", headers=grandma)
        assert again.status_code == 409 and error_code(again) == "already_claimed_today"
        assert wallet_balance(api, grandma) == 88
        status = api.get(f"/v1/daily/{campaign['id']}", headers=grandma).json()
        assert status["claimed"] and status["amount"] == 88

    def test_tiered_rule_amounts_stay_in_their_tiers(self, api, operator):
        rule = {
            "kind": "tiers",
            "tiers": [{"weight": 80, "min": 10, "max": 50}, {"weight": 1, "min": 888, "max": 888}],
        }
        campaign = daily_campaign(api, operator, budget=100_000, rule=rule)
        for i in range(10):
            amount = api.post(
                f"/v1/daily/{campaign['id']}/claim", headers=login(api, f"s{i}")
            ).json()["amount"]
            assert 10 <= amount <= 50 or amount == 888

    def test_local_day_follows_the_campaign_timezone(self, api, operator, session_factory):
        campaign = daily_campaign(
            api, operator, timezone="Asia/Shanghai", starts_at="2026-01-01T00:00:00+08:00"
        )
        login(api, "grandma")
        # 15:30 and 16:30 UTC are the same UTC day but different days in Shanghai (UTC+8).
        before_midnight = datetime(2026, 2, 16, 15, 30, tzinfo=UTC)
        after_midnight = datetime(2026, 2, 16, 16, 30, tzinfo=UTC)
        with unit_of_work(session_factory) as session:
            first = daily.claim_daily(session, campaign["id"], "grandma", now=before_midnight)
        with unit_of_work(session_factory) as session:
            second = daily.claim_daily(session, campaign["id"], "grandma", now=after_midnight)
        assert (first.local_day.isoformat(), second.local_day.isoformat()) == (
            "2026-02-16",
            "2026-02-17",
        )

    def test_outside_the_window_is_refused(self, api, operator):
        campaign = daily_campaign(
            api,
            operator,
            starts_at="2030-01-01T00:00:00+08:00",
            ends_at="2030-02-01T00:00:00+08:00",
        )
        grandma = login(api, "grandma")
        response = api.post(f"/v1/daily/{campaign['id']}/claim", headers=grandma)
        assert response.status_code == 409 and error_code(response) == "campaign_not_active"
        assert wallet_balance(api, grandma) == 0

    def test_campaign_without_daily_envelope(self, api, operator):
        campaign = create_campaign(api, operator)
        response = api.post(f"/v1/daily/{campaign['id']}/claim", headers=login(api, "grandma"))
        assert error_code(response) == "campaign_has_no_daily_envelope"

    def test_paused_campaign_is_refused(self, api, operator):
        campaign = daily_campaign(api, operator)
        paused = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/status",
            json={"status": "paused"},
            headers=operator,
        )
        assert paused.status_code == 200
        response = api.post(f"/v1/daily/{campaign['id']}/claim", headers=login(api, "grandma"))
        assert error_code(response) == "campaign_not_active"

    def test_unknown_campaign(self, api, operator):
        response = api.post("/v1/daily/cmp_nope/claim", headers=login(api, "grandma"))
        assert response.status_code == 404 and error_code(response) == "not_found"

    def test_budget_that_cannot_pay_refuses_cleanly(self, api, operator):
        campaign = daily_campaign(api, operator, budget=100)
        assert (
            api.post(f"/v1/daily/{campaign['id']}/claim", headers=login(api, "a")).status_code
            == 200
        )
        poor = login(api, "b")
        response = api.post(f"/v1/daily/{campaign['id']}/claim", headers=poor)
        assert response.status_code == 409 and error_code(response) == "budget_exhausted"
        assert wallet_balance(api, poor) == 0
        view = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
        assert view["budget_remaining"] == 12 and view["budget_spent"] == 88

    @pytest.mark.slow
    def test_rush_runs_the_budget_out_exactly(self, api, operator, live_server):
        campaign = daily_campaign(api, operator, budget=88 * 30 + 50)
        shoppers = [login(api, f"rusher{i}") for i in range(60)]
        calls = [("POST", f"/v1/daily/{campaign['id']}/claim", h, None) for h in shoppers]
        calls += [("POST", f"/v1/daily/{campaign['id']}/claim", h, None) for h in shoppers[:10]]
        responses = race(live_server.url, calls)
        outcomes = Counter("ok" if r.status_code == 200 else error_code(r) for r in responses)
        assert outcomes["ok"] == 30
        assert set(outcomes) <= {"ok", "budget_exhausted", "already_claimed_today"}
        view = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
        assert view["budget_remaining"] == 50
        assert sum(wallet_balance(api, h) for h in shoppers) == 88 * 30
