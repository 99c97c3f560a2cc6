"""Sessions end (logout, expiry, revocation), operator keys rotate and carry scopes, and every
operator change lands in the shop's own audit log."""

from datetime import timedelta

from sqlalchemy import update

from kinsave.auth import service as auth
from kinsave.auth.models import ApiKey, ShopperSession
from kinsave.db import unit_of_work, utcnow
from tests.factories import create_campaign, error_code, give_credit, login, shop_key
from tests.test_cli import kinsave


class TestSessions:
    def test_logout_ends_the_session(self, api):
        shopper = login(api, "grandma")
        assert api.post("/v1/auth/logout", headers=shopper).status_code == 204
        response = api.get("/v1/wallet", headers=shopper)
        assert response.status_code == 401 and error_code(response) == "unauthorized"

    def test_expired_session_is_refused(self, api, session_factory):
        shopper = login(api, "grandma")
        with unit_of_work(session_factory) as session:
            session.execute(update(ShopperSession).values(expires_at=utcnow() - timedelta(1)))
        assert api.get("/v1/wallet", headers=shopper).status_code == 401

    def test_revoking_a_shoppers_sessions_signs_out_every_device(
        self, api, session_factory, database_url
    ):
        phone, tablet = login(api, "grandma"), login(api, "grandma")
        other = login(api, "grandpa")
        result = kinsave(database_url, "revoke-sessions", "grandma")
        assert result.returncode == 0 and "revoked 2 sessions" in result.stdout, result.stderr
        assert [api.get("/v1/wallet", headers=h).status_code for h in (phone, tablet, other)] == [
            401,
            401,
            200,
        ]


class TestOperatorKeys:
    def test_keys_are_stored_hashed(self, session_factory):
        key = shop_key(session_factory)["Authorization"][7:]
        with unit_of_work(session_factory) as session:
            stored = session.query(ApiKey).one()
            assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64

    def test_rotation_revokes_the_old_key(self, api, session_factory):
        old = shop_key(session_factory)
        rotated = api.post("/v1/admin/keys/rotate", headers=old)
        assert rotated.status_code == 201, rotated.text
        new = {"Authorization": f"Bearer {rotated.json()['key']}"}
        assert api.get("/v1/admin/campaigns", headers=old).status_code == 401
        assert api.get("/v1/admin/campaigns", headers=new).status_code == 200
        assert api.post("/v1/admin/keys/rotate", headers=old).status_code == 401

    def test_cli_rotation_revokes_every_operator_key(self, api, session_factory, database_url):
        first, second = shop_key(session_factory), shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        result = kinsave(database_url, "operator", "rotate", "--shop", "Test Shop")
        assert result.returncode == 0, result.stderr
        new = {"Authorization": f"Bearer {result.stdout.strip().splitlines()[-1]}"}
        assert [api.get("/v1/admin/campaigns", headers=h).status_code for h in (first, second)] == [
            401,
            401,
        ]
        assert api.get("/v1/admin/campaigns", headers=new).status_code == 200
        resolve = api.post("/v1/store/tokens/resolve", json={"text": "x"}, headers=store)
        assert resolve.status_code != 401  # store keys are not operator keys: untouched

    def test_read_only_key_reads_but_never_changes(self, api, session_factory):
        full = shop_key(session_factory)
        campaign = create_campaign(api, full, budget=500)
        with unit_of_work(session_factory) as session:
            shop_id = auth.ensure_shop(session, "Test Shop").id
            read = {
                "Authorization": "Bearer "
                + auth.create_api_key(session, shop_id, "operator", "read")
            }
        assert api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=read).status_code == 200
        login(api, "grandma")
        body = {"shopper_id": "grandma", "amount": 100}
        refused = api.post(f"/v1/admin/campaigns/{campaign['id']}/credits", json=body, headers=read)
        assert refused.status_code == 403 and error_code(refused) == "forbidden"
        after = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=full).json()
        assert after["budget_remaining"] == 500
        assert api.get("/v1/admin/audit", headers=read).json()["entries"][0]["action"] == (
            "POST /v1/admin/campaigns"
        )


class TestAuditLog:
    def test_every_change_is_logged_newest_first_own_shop_only(self, api, session_factory):
        mine, theirs = shop_key(session_factory), shop_key(session_factory, shop="Theirs")
        campaign = create_campaign(api, mine)
        login(api, "grandma")
        give_credit(api, mine, campaign["id"], "grandma", 7)
        api.post(
            f"/v1/admin/campaigns/{campaign['id']}/status", json={"status": "paused"}, headers=mine
        )
        create_campaign(api, theirs)
        entries = api.get("/v1/admin/audit", headers=mine).json()["entries"]
        assert [e["action"] for e in entries] == [
            "POST /v1/admin/campaigns/{campaign_id}/status",
            "POST /v1/admin/campaigns/{campaign_id}/credits",
            "POST /v1/admin/campaigns",
        ]
        assert '"amount":7' in entries[1]["details"] and campaign["id"] in entries[1]["target"]
        assert entries[0]["actor"].startswith("ks_op_")
        assert len(api.get("/v1/admin/audit", headers=theirs).json()["entries"]) == 1

    def test_refused_changes_are_not_logged(self, api, session_factory):
        mine = shop_key(session_factory)
        campaign = create_campaign(api, mine, budget=5)
        login(api, "grandma")
        body = {"shopper_id": "grandma", "amount": 50}
        api.post(f"/v1/admin/campaigns/{campaign['id']}/credits", json=body, headers=mine)
        entries = api.get("/v1/admin/audit", headers=mine).json()["entries"]
        assert [e["action"] for e in entries] == ["POST /v1/admin/campaigns"]

    def test_pages(self, api, session_factory):
        mine = shop_key(session_factory)
        for _ in range(3):
            create_campaign(api, mine)
        first = api.get("/v1/admin/audit", params={"limit": 2}, headers=mine).json()
        rest = api.get(
            "/v1/admin/audit", params={"before_id": first["next_before_id"]}, headers=mine
        ).json()
        assert len(first["entries"]) == 2 and len(rest["entries"]) == 1
        assert rest["next_before_id"] is None
