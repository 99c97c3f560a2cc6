"""Idempotency-Key: a retry returns the first response and moves nothing twice."""

from tests.factories import (
    create_campaign,
    error_code,
    funded_shopper,
    login,
    race,
    shop_key,
    wallet_balance,
)


class TestIdempotencyKey:
    def test_retried_send_returns_the_first_envelope(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5000)
        headers = {**grandma, "Idempotency-Key": "send-1"}
        body = {"total": 1000, "shares": 5}
        first = api.post("/v1/envelopes", json=body, headers=headers)
        retry = api.post("/v1/envelopes", json=body, headers=headers)
        assert first.status_code == retry.status_code == 201
        assert retry.json()["id"] == first.json()["id"]
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert wallet_balance(api, grandma) == 4000

    def test_same_key_with_another_body_is_refused(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5000)
        headers = {**grandma, "Idempotency-Key": "send-2"}
        api.post("/v1/envelopes", json={"total": 1000, "shares": 5}, headers=headers)
        other = api.post("/v1/envelopes", json={"total": 2000, "shares": 5}, headers=headers)
        assert other.status_code == 409 and error_code(other) == "idempotency_key_reused"
        assert wallet_balance(api, grandma) == 4000

    def test_keys_belong_to_their_caller(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(
            api, operator, daily_rule={"kind": "uniform", "min": 5, "max": 5}
        )
        for name in ("grandma", "grandpa"):
            headers = {**login(api, name), "Idempotency-Key": "same-key"}
            response = api.post(f"/v1/daily/{campaign['id']}/claim", headers=headers)
            assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers

    def test_retried_grab_after_failure_runs_again(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5000)
        mum = {**login(api, "mum"), "Idempotency-Key": "grab-1"}
        missing = api.post("/v1/envelopes/env_missing/grab", headers=mum)
        assert error_code(missing) == "not_found"
        envelope = api.post("/v1/envelopes", json={"total": 100, "shares": 1}, headers=grandma)
        grab = api.post(f"/v1/envelopes/{envelope.json()['id']}/grab", headers=mum)
        assert grab.status_code == 200 and grab.json()["amount"] == 100

    def test_concurrent_retries_move_money_once(self, api, session_factory, live_server):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5000)
        envelope = api.post("/v1/envelopes", json={"total": 900, "shares": 3}, headers=grandma)
        mum = {**login(api, "mum"), "Idempotency-Key": "grab-race"}
        path = f"/v1/envelopes/{envelope.json()['id']}/grab"
        responses = race(live_server.url, [("POST", path, mum, None)] * 8)
        ok = [r for r in responses if r.status_code == 200]
        assert ok, [r.text for r in responses]
        assert len({r.json()["amount"] for r in ok}) == 1
        assert all(r.status_code == 200 or error_code(r) == "already_grabbed" for r in responses)
        assert wallet_balance(api, mum) == ok[0].json()["amount"]
