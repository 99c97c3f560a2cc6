"""Lucky and equal envelopes through the real HTTP service, on SQLite and PostgreSQL."""

from collections import Counter
from datetime import timedelta

import pytest

from kinsave.db import utcnow
from kinsave.jobs import expire_envelopes
from tests.factories import (
    create_campaign,
    error_code,
    funded_shopper,
    login,
    race,
    shop_key,
    wallet_balance,
)


@pytest.fixture
def family(api, session_factory):
    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 10_000)
    return operator, campaign, grandma


def send(api, sender, total=1000, shares=5, kind="lucky", **extra):
    response = api.post(
        "/v1/envelopes",
        json={"total": total, "shares": shares, "kind": kind, **extra},
        headers=sender,
    )
    assert response.status_code == 201, response.text
    return response.json()


class TestSend:
    def test_funds_move_to_escrow(self, api, family):
        _, _, grandma = family
        envelope = send(api, grandma, total=1000, shares=5, message="For the family")
        assert envelope["remaining_amount"] == 1000 and envelope["remaining_shares"] == 5
        assert envelope["message"] == "For the family"
        assert wallet_balance(api, grandma) == 9000

    def test_equal_kind_splits_evenly(self, api, family, live_server):
        _, _, grandma = family
        envelope = send(api, grandma, total=1001, shares=4, kind="equal")
        amounts = [
            api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=login(api, f"r{i}")).json()[
                "amount"
            ]
            for i in range(4)
        ]
        assert sorted(amounts) == [250, 250, 250, 251]

    @pytest.mark.parametrize(
        "body",
        [
            {"total": 0, "shares": 1},
            {"total": -5, "shares": 1},
            {"total": 20001, "shares": 5},
            {"total": 2**63, "shares": 5},
            {"total": 4, "shares": 5},
            {"total": 100, "shares": 0},
            {"total": 1000, "shares": 101},
            {"total": 10.5, "shares": 2},
            {"total": "1000", "shares": 2},
            {"total": 1000, "shares": 2.0},
        ],
    )
    def test_bad_amounts_are_refused_and_nothing_moves(self, api, family, body):
        _, _, grandma = family
        response = api.post("/v1/envelopes", json=body, headers=grandma)
        assert response.status_code == 422
        assert error_code(response) == "invalid_amount"
        assert wallet_balance(api, grandma) == 10_000

    def test_more_than_the_wallet_holds_is_refused(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        poor = funded_shopper(api, operator, campaign["id"], "poor", 500)
        response = api.post("/v1/envelopes", json={"total": 501, "shares": 2}, headers=poor)
        assert response.status_code == 409 and error_code(response) == "insufficient_funds"
        assert wallet_balance(api, poor) == 500

    def test_unknown_fields_of_the_wrong_kind_are_refused(self, api, family):
        _, _, grandma = family
        response = api.post(
            "/v1/envelopes", json={"total": 100, "shares": 2, "kind": "golden"}, headers=grandma
        )
        assert response.status_code == 422 and error_code(response) == "invalid_request"


class TestGrab:
    def test_grab_moves_one_share_to_the_wallet(self, api, family):
        _, _, grandma = family
        envelope = send(api, grandma)
        mum = login(api, "mum")
        grab = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=mum)
        assert grab.status_code == 200
        assert wallet_balance(api, mum) == grab.json()["amount"]
        view = api.get(f"/v1/envelopes/{envelope['id']}", headers=mum).json()
        assert view["my_amount"] == grab.json()["amount"]
        assert view["remaining_amount"] == 1000 - grab.json()["amount"]
        assert [g["shopper_id"] for g in view["grabs"]] == ["mum"]

    def test_second_grab_by_the_same_shopper_is_refused(self, api, family):
        _, _, grandma = family
        envelope = send(api, grandma)
        mum = login(api, "mum")
        first = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=mum)
        again = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=mum)
        assert again.status_code == 409 and error_code(again) == "already_grabbed"
        assert wallet_balance(api, mum) == first.json()["amount"]

    def test_unknown_envelope_is_not_found(self, api, family):
        response = api.post("/v1/envelopes/env_nope/grab", headers=login(api, "mum"))
        assert response.status_code == 404 and error_code(response) == "not_found"

    def test_empty_envelope_refuses_and_shows_the_luckiest(self, api, family):
        _, _, grandma = family
        envelope = send(api, grandma, total=300, shares=2)
        amounts = {
            name: api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=login(api, name)).json()[
                "amount"
            ]
            for name in ("mum", "dad")
        }
        late = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=login(api, "xiaoming"))
        assert late.status_code == 409 and error_code(late) == "envelope_empty"
        view = api.get(f"/v1/envelopes/{envelope['id']}", headers=grandma).json()
        assert view["luckiest_is_final"] and view["remaining_amount"] == 0
        assert amounts[view["luckiest_shopper_id"]] == max(amounts.values())

    @pytest.mark.slow
    def test_sixty_shoppers_race_for_forty_shares(self, api, family, live_server):
        _, _, grandma = family
        envelope = send(api, grandma, total=5000, shares=40)
        shoppers = [login(api, f"relative{i}") for i in range(60)]
        # Ten of them press twice at the same moment.
        calls = [("POST", f"/v1/envelopes/{envelope['id']}/grab", h, None) for h in shoppers]
        calls += [("POST", f"/v1/envelopes/{envelope['id']}/grab", h, None) for h in shoppers[:10]]
        responses = race(live_server.url, calls)
        outcomes = Counter("ok" if r.status_code == 200 else error_code(r) for r in responses)
        assert outcomes["ok"] == 40
        assert set(outcomes) <= {"ok", "envelope_empty", "already_grabbed"}
        view = api.get(f"/v1/envelopes/{envelope['id']}", headers=grandma).json()
        grabbers = [g["shopper_id"] for g in view["grabs"]]
        assert len(grabbers) == len(set(grabbers)) == 40
        assert view["grabbed_amount"] == 5000 and view["remaining_amount"] == 0
        paid = sum(r.json()["amount"] for r in responses if r.status_code == 200)
        assert paid == 5000


class TestExpiry:
    def test_unclaimed_remainder_returns_to_the_sender_once(self, api, family, session_factory):
        _, _, grandma = family
        envelope = send(api, grandma, total=1000, shares=5)
        mum_amount = api.post(
            f"/v1/envelopes/{envelope['id']}/grab", headers=login(api, "mum")
        ).json()["amount"]
        later = utcnow() + timedelta(hours=25)
        first = expire_envelopes(session_factory, now=later)
        second = expire_envelopes(session_factory, now=later)
        assert (first.expired, first.refunded_amount) == (1, 1000 - mum_amount)
        assert (second.expired, second.refunded_amount) == (0, 0)
        assert wallet_balance(api, grandma) == 10_000 - mum_amount
        view = api.get(f"/v1/envelopes/{envelope['id']}", headers=grandma).json()
        assert view["status"] == "expired" and view["refunded_amount"] == 1000 - mum_amount

    def test_two_sweepers_at_once_refund_once(self, api, family, session_factory):
        from concurrent.futures import ThreadPoolExecutor

        _, _, grandma = family
        for _ in range(6):
            send(api, grandma, total=500, shares=3)
        later = utcnow() + timedelta(hours=25)
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(pool.map(lambda _: expire_envelopes(session_factory, now=later), [1, 2]))
        assert sum(r.expired for r in reports) == 6
        assert sum(r.refunded_amount for r in reports) == 3000
        assert wallet_balance(api, grandma) == 10_000

    def test_grab_after_expiry_is_refused_and_nothing_moves(self, api, family, session_factory):
        _, _, grandma = family
        envelope = send(api, grandma)
        expire_envelopes(session_factory, now=utcnow() + timedelta(hours=25))
        mum = login(api, "mum")
        late = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=mum)
        assert late.status_code == 410 and error_code(late) == "envelope_expired"
        assert wallet_balance(api, mum) == 0
        assert wallet_balance(api, grandma) == 10_000

    def test_past_its_expiry_an_envelope_refuses_grabs_before_the_sweeper_runs(
        self, api, family, session_factory
    ):
        from kinsave.db import unit_of_work
        from kinsave.envelopes import grabs
        from kinsave.errors import KinsaveError

        _, _, grandma = family
        envelope = send(api, grandma)
        login(api, "mum")
        with pytest.raises(KinsaveError) as refused, unit_of_work(session_factory) as session:
            grabs.grab_share(session, envelope["id"], "mum", now=utcnow() + timedelta(hours=25))
        assert refused.value.code == "envelope_expired"

    def test_not_yet_expired_envelopes_stay_open(self, api, family, session_factory):
        _, _, grandma = family
        send(api, grandma)
        assert expire_envelopes(session_factory, now=utcnow()).expired == 0
        assert wallet_balance(api, grandma) == 9000

    def test_shop_envelope_refunds_to_the_campaign_budget(self, api, family, session_factory):
        operator, campaign, _ = family
        created = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/envelopes",
            json={"total": 2000, "shares": 4},
            headers=operator,
        )
        assert created.status_code == 201, created.text
        before = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
        expire_envelopes(session_factory, now=utcnow() + timedelta(days=2))
        after = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
        assert after["budget_remaining"] == before["budget_remaining"] + 2000
