"""Sign-in for shopper requests: tokens the session cache does not remember are resolved together,
one read per batch (the app's session batcher), each to its own shopper or to unauthorized."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import update

from kinsave.auth import service
from kinsave.auth.models import ShopperSession
from kinsave.auth.session_cache import SessionCache
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from tests.factories import login


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _codes(answers: list[object]) -> list[str]:
    return [a.code if isinstance(a, KinsaveError) else a.shopper_id for a in answers]  # type: ignore[attr-defined]


class TestResolveMany:
    def test_each_token_gets_its_own_answer_in_one_read(self, api, session_factory):
        aunt, uncle, gone, old = (_token(login(api, n)) for n in ("aunt", "uncle", "gone", "old"))
        with unit_of_work(session_factory) as session:
            service.revoke_session(session, gone)
            session.execute(
                update(ShopperSession)
                .where(ShopperSession.shopper_id == "old")
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        cache = SessionCache(ttl_seconds=0)
        with unit_of_work(session_factory) as session:
            answers = cache.resolve_many(session, [aunt, "ks_unknown", gone, old, uncle, aunt])
        assert _codes(answers) == [
            "aunt",
            "unauthorized",
            "unauthorized",
            "unauthorized",
            "uncle",
            "aunt",
        ]
        assert cache.peek(aunt) is None  # a cache of 0 seconds remembers nothing

    def test_a_caching_process_remembers_valid_tokens_only(self, api, session_factory):
        aunt = _token(login(api, "aunt"))
        cache = SessionCache(ttl_seconds=30)
        with unit_of_work(session_factory) as session:
            cache.resolve_many(session, [aunt, "ks_unknown"])
        remembered = cache.peek(aunt)
        assert remembered is not None and remembered.shopper_id == "aunt"
        assert cache.peek("ks_unknown") is None


class TestOverHttp:
    def test_a_crowd_of_new_tokens_each_sees_its_own_wallet(self, api, live_server):
        crowd = {f"cousin{n}": login(api, f"cousin{n}") for n in range(40)}

        def wallet_owner(headers: dict[str, str]) -> str:
            response = api.get("/v1/wallet", headers=headers)
            assert response.status_code == 200, response.text
            owner: str = response.json()["shopper_id"]
            return owner

        with ThreadPoolExecutor(max_workers=16) as pool:
            owners = list(pool.map(wallet_owner, crowd.values()))
        assert owners == list(crowd)

    def test_a_logged_out_token_is_refused(self, api):
        headers = login(api, "nephew")
        assert api.post("/v1/auth/logout", headers=headers).status_code == 204
        refused = api.get("/v1/wallet", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
