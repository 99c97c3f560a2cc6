"""Shopper login from the hosts through the live HTTP service (SQLite and PostgreSQL)."""

import time

import pytest
from sqlalchemy import select

from kinsave.auth import service as auth
from kinsave.auth.models import ChannelIdentity, Shopper, ShopperSession
from kinsave.db import unit_of_work
from tests.auth.conftest import TEST_BOT_TOKEN, WECHAT_APPID, WECHAT_SECRET
from tests.auth.initdata import user_fields, with_hash


class TestTelegramLogin:
    def test_valid_init_data_signs_in_as_tg_user(self, host_api, session_factory):
        init_data = with_hash(user_fields(4242, int(time.time())), TEST_BOT_TOKEN)
        response = host_api.post("/v1/auth/telegram", json={"init_data": init_data})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["shopper_id"] == "tg:4242"
        wallet = host_api.get("/v1/wallet", headers={"Authorization": f"Bearer {body['token']}"})
        assert wallet.json()["shopper_id"] == "tg:4242"
        with unit_of_work(session_factory) as session:
            assert auth.channel_identities(session, "tg:4242") == [("telegram", "4242")]
            assert session.get(Shopper, "tg:4242").display_name == "Li Hua"

    def test_signing_in_again_keeps_one_identity(self, host_api, session_factory):
        for _ in range(2):
            init_data = with_hash(user_fields(4242, int(time.time())), TEST_BOT_TOKEN)
            response = host_api.post("/v1/auth/telegram", json={"init_data": init_data})
            assert response.status_code == 200, response.text
        with unit_of_work(session_factory) as session:
            rows = session.execute(select(ChannelIdentity)).scalars().all()
            assert [(r.host, r.host_user_id, r.app_id) for r in rows] == [
                ("telegram", "4242", "7000000001")
            ]
            assert rows[0].last_seen_at > rows[0].created_at

    @pytest.mark.parametrize(
        ("age", "code"), [(24 * 3600 + 60, "init_data_expired"), (0, "init_data_invalid")]
    )
    def test_refusals(self, host_api, session_factory, age, code):
        token = TEST_BOT_TOKEN if age else TEST_BOT_TOKEN + "x"  # wrong key -> invalid
        init_data = with_hash(user_fields(4242, int(time.time()) - age), token)
        response = host_api.post("/v1/auth/telegram", json={"init_data": init_data})
        assert (response.status_code, response.json()["error"]["code"]) == (401, code)
        with unit_of_work(session_factory) as session:
            assert session.get(Shopper, "tg:4242") is None

    def test_garbage_is_invalid_not_a_crash(self, host_api):
        for init_data in ("", "%ff%fe=1", "a" * 60_000, "hash=&hash="):
            response = host_api.post("/v1/auth/telegram", json={"init_data": init_data})
            assert (response.status_code, response.json()["error"]["code"]) == (
                401,
                "init_data_invalid",
            )

    def test_disabled_without_a_bot(self, api):
        response = api.post("/v1/auth/telegram", json={"init_data": "auth_date=1"})
        assert response.status_code == 404


class TestWechatLogin:
    def test_code2session_signs_in_and_drops_the_session_key(
        self, host_api, session_factory, code2session
    ):
        response = host_api.post("/v1/auth/wechat", json={"code": "abc123"})
        assert response.status_code == 200, response.text
        assert response.json()["shopper_id"] == "wx:o_abc123"
        assert "SESSIONKEY" not in response.text
        assert code2session.calls == [
            {
                "appid": WECHAT_APPID,
                "secret": WECHAT_SECRET,
                "js_code": "abc123",
                "grant_type": "authorization_code",
            }
        ]
        with unit_of_work(session_factory) as session:
            identity = session.get(ChannelIdentity, ("wechat", "o_abc123"))
            assert (identity.shopper_id, identity.union_id, identity.app_id) == (
                "wx:o_abc123",
                "u_abc123",
                WECHAT_APPID,
            )
            stored = [
                repr(row.__dict__)
                for model in (ChannelIdentity, Shopper, ShopperSession)
                for row in session.execute(select(model)).scalars()
            ]
        assert not any("SESSIONKEY" in text for text in stored)

    @pytest.mark.parametrize(
        ("errcode", "status", "code"),
        [
            (-1, 503, "wechat_busy"),
            (40029, 401, "wechat_code_invalid"),
            (45011, 429, "wechat_rate_limited"),
            (40226, 403, "wechat_high_risk_user"),
            (40163, 401, "wechat_code_used"),
            (99999, 502, "wechat_login_failed"),
        ],
    )
    def test_each_documented_errcode(self, host_api, session_factory, errcode, status, code):
        response = host_api.post("/v1/auth/wechat", json={"code": f"err{errcode}"})
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        with unit_of_work(session_factory) as session:
            assert session.execute(select(ChannelIdentity)).first() is None

    @pytest.mark.parametrize("code", ["slow", "garbage"])
    def test_unreachable_or_nonsense_answers(self, host_api, code):
        response = host_api.post("/v1/auth/wechat", json={"code": code})
        assert (response.status_code, response.json()["error"]["code"]) == (
            503,
            "wechat_unavailable",
        )

    def test_no_transaction_is_open_during_the_call(self, host_api, session_factory, code2session):
        # While WeChat is answering, someone else writes. Had the login opened its transaction
        # first (on SQLite: the write lock), this write would wait past the 1.5 s client timeout.
        def write_meanwhile() -> None:
            with unit_of_work(session_factory) as session:
                auth.ensure_shop(session, "Written during code2session")

        code2session.during_call = write_meanwhile
        response = host_api.post("/v1/auth/wechat", json={"code": "concurrent"})
        assert response.status_code == 200, response.text
