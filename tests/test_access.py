"""Who may do what: shoppers act only as themselves, operators see only their own shop."""

import httpx
import pytest

from tests.conftest import LiveServer
from tests.factories import create_campaign, error_code, login, shop_key


class TestShopperAccess:
    def test_no_token_is_unauthorized(self, api):
        response = api.get("/v1/wallet")
        assert response.status_code == 401 and error_code(response) == "unauthorized"

    def test_bad_token_is_unauthorized(self, api):
        response = api.get("/v1/wallet", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401 and error_code(response) == "unauthorized"

    def test_shopper_cannot_read_another_wallet(self, api):
        grandma = login(api, "grandma")
        login(api, "grandpa")
        response = api.get("/v1/shoppers/grandpa/wallet", headers=grandma)
        assert response.status_code == 403 and error_code(response) == "forbidden"
        assert api.get("/v1/shoppers/grandma/wallet", headers=grandma).status_code == 200

    def test_shopper_token_cannot_use_admin_endpoints(self, api):
        response = api.get("/v1/admin/campaigns", headers=login(api, "grandma"))
        assert response.status_code == 401 and error_code(response) == "unauthorized"

    def test_operator_key_is_not_a_shopper_session(self, api, session_factory):
        response = api.get("/v1/wallet", headers=shop_key(session_factory))
        assert response.status_code == 401

    def test_store_key_cannot_use_operator_endpoints(self, api, session_factory):
        store = shop_key(session_factory, role="store")
        response = api.get("/v1/admin/campaigns", headers=store)
        assert response.status_code == 403 and error_code(response) == "forbidden"


class TestOperatorIsolation:
    @pytest.fixture
    def two_shops(self, api, session_factory):
        mine = shop_key(session_factory, shop="Mine")
        theirs = shop_key(session_factory, shop="Theirs")
        return mine, theirs, create_campaign(api, theirs)

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/v1/admin/campaigns/{id}", None),
            ("POST", "/v1/admin/campaigns/{id}/status", {"status": "paused"}),
            ("POST", "/v1/admin/campaigns/{id}/budget", {"amount": 100}),
            ("POST", "/v1/admin/campaigns/{id}/envelopes", {"total": 100, "shares": 2}),
            ("POST", "/v1/admin/campaigns/{id}/credits", {"shopper_id": "x", "amount": 1}),
        ],
    )
    def test_another_shops_campaign_is_not_found(self, api, two_shops, method, path, body):
        mine, theirs, campaign = two_shops
        response = api.request(method, path.format(id=campaign["id"]), json=body, headers=mine)
        assert response.status_code == 404 and error_code(response) == "not_found"
        untouched = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=theirs).json()
        assert untouched == campaign | {"budget_remaining": campaign["budget_remaining"]}

    def test_listing_shows_only_my_campaigns(self, api, two_shops):
        mine, _, _ = two_shops
        own = create_campaign(api, mine)
        listed = api.get("/v1/admin/campaigns", headers=mine).json()["campaigns"]
        assert [c["id"] for c in listed] == [own["id"]]

    def test_another_shops_envelope_audit_is_not_found(self, api, two_shops):
        mine, theirs, campaign = two_shops
        envelope = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/envelopes",
            json={"total": 500, "shares": 5},
            headers=theirs,
        ).json()
        assert (
            api.get(f"/v1/admin/envelopes/{envelope['id']}/audit", headers=mine).status_code == 404
        )
        audit = api.get(f"/v1/admin/envelopes/{envelope['id']}/audit", headers=theirs).json()
        assert audit["replay_matches"] and audit["escrow_matches_open_shares"]
        assert sum(s["amount"] for s in audit["shares"]) == 500


class TestDevLogin:
    def test_dev_login_is_not_found_when_disabled(self, settings, engine):
        server = LiveServer(settings.model_copy(update={"dev_login": False}))
        server.start()
        try:
            response = httpx.post(f"{server.url}/v1/auth/dev-login", json={"user_id": "grandma"})
        finally:
            server.stop()
        assert response.status_code == 404 and error_code(response) == "not_found"

    def test_bad_user_id_is_refused(self, api):
        response = api.post("/v1/auth/dev-login", json={"user_id": "<script>"})
        assert response.status_code == 422 and error_code(response) == "invalid_request"


class TestFirstSignIn:
    def test_two_first_sign_ins_at_once_both_succeed(self, api, live_server):
        from tests.factories import race

        body = {"user_id": "newcomer"}
        responses = race(live_server.url, [("POST", "/v1/auth/dev-login", {}, body)] * 6)
        assert [r.status_code for r in responses] == [200] * 6
        tokens = {r.json()["token"] for r in responses}
        assert len(tokens) == 6
