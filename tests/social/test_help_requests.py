"""Help requests through the live HTTP service, on SQLite and PostgreSQL."""

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from kinsave.jobs import expire_help_requests
from kinsave.ledger import service as ledger
from kinsave.social import help_requests
from tests.factories import Headers, create_campaign, login, shop_key, wallet_balance


def _offer(api: httpx.Client, operator: Headers, campaign_id: str, **terms: Any) -> dict[str, Any]:
    body = {"helpers_needed": 3, "hours": 24, "reward": 500, **terms}
    response = api.post(
        f"/v1/admin/campaigns/{campaign_id}/help-offers", json=body, headers=operator
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _start(api: httpx.Client, shopper: Headers, offer_id: str) -> dict[str, Any]:
    response = api.post("/v1/help-requests", json={"offer_id": offer_id}, headers=shopper)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _help(api: httpx.Client, helper: Headers, request_id: str) -> httpx.Response:
    return api.post(f"/v1/help-requests/{request_id}/help", headers=helper)


def _budget(api: httpx.Client, operator: Headers, campaign_id: str) -> int:
    remaining: int = api.get(f"/v1/admin/campaigns/{campaign_id}", headers=operator).json()[
        "budget_remaining"
    ]
    return remaining


def _help_escrow_clean(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        assert help_requests.escrow_problems(session) == []


class TestStart:
    def test_terms_shown_up_front_and_reward_reserved(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"])
        grandma = login(api, "grandma")
        started = _start(api, grandma, offer["id"])
        assert started["helpers_needed"] == 3
        assert started["helped"] == 0
        assert started["reward"] == 500
        assert started["state"] == "open"
        assert started["hours"] == 24
        assert _budget(api, operator, campaign["id"]) == 9_500
        _help_escrow_clean(session_factory)

    def test_budget_too_small_reserves_nothing(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=100)
        offer = _offer(api, operator, campaign["id"], reward=500)
        response = api.post(
            "/v1/help-requests", json={"offer_id": offer["id"]}, headers=login(api, "grandma")
        )
        assert response.json()["error"]["code"] == "budget_exhausted"
        assert _budget(api, operator, campaign["id"]) == 100

    def test_another_shop_cannot_add_offers_to_my_campaign(self, api, session_factory):
        campaign = create_campaign(api, shop_key(session_factory), budget=1000)
        intruder = shop_key(session_factory, shop="Other Shop")
        response = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/help-offers",
            json={"helpers_needed": 1, "hours": 1, "reward": 10},
            headers=intruder,
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


class TestHelp:
    def test_nth_help_pays_once_and_links_the_circle(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"])
        grandma = login(api, "grandma")
        request_id = _start(api, grandma, offer["id"])["id"]
        results = [_help(api, login(api, name), request_id) for name in ("mum", "dad", "xiaoming")]
        assert [r.status_code for r in results] == [200, 200, 200]
        assert [r.json()["reward_paid"] for r in results] == [None, None, 500]
        assert wallet_balance(api, grandma) == 500
        view = api.get(f"/v1/help-requests/{request_id}", headers=grandma).json()
        assert view["state"] == "completed"
        assert [h["shopper_id"] for h in view["helpers"]] == ["mum", "dad", "xiaoming"]
        late = _help(api, login(api, "xiaohong"), request_id)
        assert late.json()["error"]["code"] == "help_request_closed"
        assert wallet_balance(api, grandma) == 500
        circle = api.get("/v1/circle", headers=grandma).json()
        assert {r["shopper_id"] for r in circle["relatives"]} == {"mum", "dad", "xiaoming"}
        mum_circle = api.get("/v1/circle", headers=login(api, "mum")).json()
        assert mum_circle["relatives"][0]["shopper_id"] == "grandma"
        assert mum_circle["recent"][0]["kind"] == "help_reward"
        assert mum_circle["recent"][0]["amount"] == 500
        _help_escrow_clean(session_factory)

    def test_refusals_move_nothing(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], helpers_needed=2)
        grandma = login(api, "grandma")
        request_id = _start(api, grandma, offer["id"])["id"]
        mum = login(api, "mum")
        assert _help(api, mum, request_id).status_code == 200
        again = _help(api, mum, request_id)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "help_already_given")
        itself = _help(api, grandma, request_id)
        assert (itself.status_code, itself.json()["error"]["code"]) == (
            403,
            "help_self_not_allowed",
        )
        view = api.get(f"/v1/help-requests/{request_id}", headers=grandma).json()
        assert view["helped"] == 1
        assert wallet_balance(api, grandma) == 0
        assert _budget(api, operator, campaign["id"]) == 9_500
        assert api.get("/v1/circle", headers=grandma).json()["relatives"][0]["shopper_id"] == "mum"

    def test_daily_limit_per_helper(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], helpers_needed=5, daily_help_limit=2)
        requests = [_start(api, login(api, f"asker{i}"), offer["id"])["id"] for i in range(3)]
        helper = login(api, "busy-aunt")
        assert _help(api, helper, requests[0]).status_code == 200
        assert _help(api, helper, requests[1]).status_code == 200
        third = _help(api, helper, requests[2])
        assert third.json()["error"]["code"] == "help_limit_reached"
        assert api.get(f"/v1/help-requests/{requests[2]}", headers=helper).json()["helped"] == 0

    def test_retry_with_idempotency_key_counts_once(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], helpers_needed=1)
        grandma = login(api, "grandma")
        request_id = _start(api, grandma, offer["id"])["id"]
        mum = {**login(api, "mum"), "Idempotency-Key": "help-1"}
        first, retry = _help(api, mum, request_id), _help(api, mum, request_id)
        assert first.json() == retry.json()
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert wallet_balance(api, grandma) == 500


class TestRace:
    def test_ten_helpers_race_for_the_last_three_slots(self, api, live_server, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], helpers_needed=5, reward=888)
        grandma = login(api, "grandma")
        request_id = _start(api, grandma, offer["id"])["id"]
        for name in ("early1", "early2"):
            assert _help(api, login(api, name), request_id).status_code == 200
        racers = [login(api, f"racer{i}") for i in range(10)]
        barrier = threading.Barrier(len(racers))
        results: list[httpx.Response] = []

        def race(headers: Headers) -> None:
            with httpx.Client(base_url=live_server.url, timeout=60) as client:
                barrier.wait()
                results.append(_help(client, headers, request_id))

        threads = [threading.Thread(target=race, args=(h,)) for h in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [r for r in results if r.status_code == 200]
        losers = [r.json()["error"]["code"] for r in results if r.status_code != 200]
        assert len(winners) == 3
        assert losers == ["help_request_closed"] * 7
        assert sum(1 for r in winners if r.json()["reward_paid"] == 888) == 1
        assert wallet_balance(api, grandma) == 888
        view = api.get(f"/v1/help-requests/{request_id}", headers=grandma).json()
        assert (view["helped"], len(view["helpers"]), view["state"]) == (5, 5, "completed")
        with unit_of_work(session_factory) as session:
            wallet = ledger.wallet_account(session, "grandma", campaign["shop_id"])
            assert ledger.total_received(session, wallet, kind="help_reward") == 888
        _help_escrow_clean(session_factory)


class TestExpiry:
    def test_unfinished_request_refunds_once_even_with_two_sweepers(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], hours=2)
        grandma = login(api, "grandma")
        request_id = _start(api, grandma, offer["id"])["id"]
        assert _help(api, login(api, "mum"), request_id).status_code == 200
        later = utcnow() + timedelta(hours=2, seconds=1)
        reports = []
        sweepers = [
            threading.Thread(
                target=lambda: reports.append(expire_help_requests(session_factory, later))
            )
            for _ in range(2)
        ]
        for sweeper in sweepers:
            sweeper.start()
        for sweeper in sweepers:
            sweeper.join()
        assert sorted(r.expired for r in reports) == [0, 1]
        assert sum(r.refunded_amount for r in reports) == 500
        assert _budget(api, operator, campaign["id"]) == 10_000
        assert expire_help_requests(session_factory, later).expired == 0
        view = api.get(f"/v1/help-requests/{request_id}", headers=grandma).json()
        assert view["state"] == "expired"
        assert wallet_balance(api, grandma) == 0
        _help_escrow_clean(session_factory)

    def test_no_help_after_the_deadline(self, session_factory, api):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], hours=1)
        login(api, "mum")
        request_id = _start(api, login(api, "grandma"), offer["id"])["id"]
        at_deadline = utcnow() + timedelta(hours=1, seconds=1)
        with pytest.raises(KinsaveError) as refused, unit_of_work(session_factory) as session:
            help_requests.give_help(session, request_id, "mum", now=at_deadline)
        assert refused.value.code == "help_request_expired"
        assert (
            api.get(f"/v1/help-requests/{request_id}", headers=login(api, "mum")).json()["helped"]
            == 0
        )


class TestOneOpenRequestPerOffer:
    def test_second_open_request_refused_until_the_first_is_over(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], hours=1)
        grandma = login(api, "grandma")
        first = _start(api, grandma, offer["id"])["id"]
        again = api.post("/v1/help-requests", json={"offer_id": offer["id"]}, headers=grandma)
        assert again.json()["error"]["code"] == "help_request_already_open"
        assert _budget(api, operator, campaign["id"]) == 9_500
        later = utcnow() + timedelta(hours=1, seconds=1)
        with unit_of_work(session_factory) as session:
            second = help_requests.start_request(session, offer["id"], "grandma", now=later)
        assert second.id != first
        view = api.get(f"/v1/help-requests/{first}", headers=grandma).json()
        assert view["state"] == "expired"
        assert _budget(api, operator, campaign["id"]) == 9_500  # first refunded, second reserved
        _help_escrow_clean(session_factory)


class TestDailyLimitRace:
    def test_one_helper_racing_over_many_requests_fills_only_k_slots(
        self, api, live_server, session_factory
    ):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"], helpers_needed=2, daily_help_limit=2)
        requests = [_start(api, login(api, f"asker{i}"), offer["id"])["id"] for i in range(5)]
        aunt = login(api, "busy-aunt")
        barrier = threading.Barrier(len(requests))
        results: list[httpx.Response] = []

        def race(request_id: str) -> None:
            with httpx.Client(base_url=live_server.url, timeout=60) as client:
                barrier.wait()
                results.append(_help(client, aunt, request_id))

        threads = [threading.Thread(target=race, args=(r,)) for r in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status_code for r in results) == [200, 200, 409, 409, 409]
        refused = {r.json()["error"]["code"] for r in results if r.status_code != 200}
        assert refused == {"help_limit_reached"}
        helped = [
            api.get(f"/v1/help-requests/{r}", headers=aunt).json()["helped"] for r in requests
        ]
        assert sorted(helped) == [0, 0, 0, 1, 1]
