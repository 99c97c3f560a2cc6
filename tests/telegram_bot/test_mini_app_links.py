"""Shares into Telegram carry the bot's own Mini App link (https://t.me/<bot>/<app>?startapp=,
the bot's username from getMe), and the Mini App opened from it (/telegram/app) signs the
Telegram user in from the signed launch data and opens at the share's target, the touch theirs.
"""

import time
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth.models import Shopper
from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.sharing.models import SharingEvent
from kinsave.social import service as social
from kinsave.telegram import identity
from tests.auth.initdata import user_fields, with_hash
from tests.coupons.factories import push_products
from tests.factories import create_campaign, funded_shopper, login, shop_key
from tests.sharing.factories import RICE, api_share
from tests.telegram_bot.conftest import BOT_TOKEN
from tests.telegram_bot.standin import BOT_USER

HUMAN = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Telegram-iOS/11.0"}


def _launch_data(user_id: int, start_param: str | None, token: str = BOT_TOKEN) -> str:
    extra = {"start_param": start_param} if start_param else {}
    return with_hash(user_fields(user_id, int(time.time()), **extra), token)


def _open_mini_app(client: httpx.Client, init_data: str, start_param: str = "") -> httpx.Response:
    """What Telegram's WebView and the page's script do: load /telegram/app (which sets the
    CSRF cookie), then post the launch data with the CSRF header."""
    page = client.get("/telegram/app", params={"tgWebAppStartParam": start_param}, headers=HUMAN)
    assert page.status_code == 200 and "/static/telegram.js" in page.text
    csrf = {"X-Kinsave-CSRF": client.cookies["ks_csrf"], **HUMAN}
    return client.post("/telegram/app/session", json={"init_data": init_data}, headers=csrf)


def _opens(factory: sessionmaker[Session], code: str) -> list[tuple[str, str | None]]:
    with unit_of_work(factory) as session:
        rows = session.execute(
            select(SharingEvent.kind, SharingEvent.shopper_id).where(
                SharingEvent.share_code == code, SharingEvent.kind == "link_opened"
            )
        )
        return [(row[0], row[1]) for row in rows]


def _deal_share(kinsave: httpx.Client, factory: sessionmaker[Session]) -> dict[str, Any]:
    operator = shop_key(factory)
    store = shop_key(factory, role="store")
    campaign = create_campaign(kinsave, operator)
    push_products(kinsave, store, [RICE])
    landing = {"product": "/shop/p/{id}?share={code}"}
    assert kinsave.put("/v1/store/landing", json=landing, headers=store).status_code == 200
    return api_share(kinsave, login(kinsave, "grandma"), campaign["id"], "telegram")


class TestMiniAppLink:
    def test_the_link_is_made_from_the_bots_username(self, kinsave, session_factory):
        share = _deal_share(kinsave, session_factory)
        base = f"https://t.me/{BOT_USER['username']}/app"  # getMe's answer, the default app name
        assert share["deep_link"] == f"{base}?startapp={share['code']}"
        assert share["mini_app_card"]["path"] == share["deep_link"]
        assert share["link"] is not None and share["token"] in share["text"]


class TestOpenedFromTheLink:
    def test_signs_in_and_lands_on_the_deal_attributed(self, kinsave, session_factory):
        share = _deal_share(kinsave, session_factory)
        code = share["code"]
        opened = _open_mini_app(kinsave, _launch_data(555, code), code)
        assert opened.status_code == 200, opened.text
        base = str(kinsave.base_url).rstrip("/")
        assert opened.json() == {
            "location": f"{base}/shop/p/rice-5kg?share={code}",
            "shopper_id": "tg:555",
        }
        # The session cookie is set: the API knows who this is.
        assert kinsave.get("/v1/wallet").json()["shopper_id"] == "tg:555"
        assert _opens(session_factory, code) == [("link_opened", "tg:555")]
        with unit_of_work(session_factory) as session:
            assert social.relative_ids(session, "grandma") == ["tg:555"]

    def test_an_envelope_share_opens_the_envelope_page(self, kinsave, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(kinsave, operator)
        grandma = funded_shopper(kinsave, operator, campaign["id"], "grandma", 5_000)
        body = {"total": 500, "shares": 2}
        envelope = kinsave.post("/v1/envelopes", json=body, headers=grandma).json()
        target = {"type": "envelope", "id": envelope["id"]}
        share = kinsave.post(
            "/v1/shares", json={"target": target, "channel": "telegram"}, headers=grandma
        ).json()
        opened = _open_mini_app(kinsave, _launch_data(556, share["code"]), share["code"])
        assert opened.json()["location"] == f"/app/e/{envelope['id']}"
        page = kinsave.get(opened.json()["location"])
        assert page.status_code == 200 and 'id="grab"' in page.text

    def test_without_a_share_it_opens_home(self, kinsave, session_factory):
        opened = _open_mini_app(kinsave, _launch_data(557, None))
        assert opened.json()["location"] == "/app"
        unknown = _open_mini_app(kinsave, _launch_data(557, "NoSuchShare1"))
        assert unknown.json()["location"] == "/app"


class TestForgeries:
    def test_forged_launch_data_signs_nobody_in(self, kinsave, session_factory):
        share = _deal_share(kinsave, session_factory)
        code = share["code"]
        forged = [
            _launch_data(666, code, token="7000000001:AAH-some-other-bots-token"),
            _launch_data(666, code).replace("hash=", "hash=0"),
            _launch_data(666, code).replace("start_param=", "start_param=x"),
            "user=%7B%22id%22%3A666%7D&auth_date=1",
        ]
        for init_data in forged:
            with httpx.Client(base_url=kinsave.base_url) as fresh:
                answer = _open_mini_app(fresh, init_data, code)
                assert answer.status_code == 401, answer.text
                assert answer.json()["error"]["code"] == "init_data_invalid"
                assert "ks_session" not in fresh.cookies
        with unit_of_work(session_factory) as session:
            assert session.get(Shopper, "tg:666") is None
        assert _opens(session_factory, code) == []

    def test_no_csrf_header_is_refused(self, kinsave, session_factory):
        kinsave.get("/telegram/app")
        body = {"init_data": _launch_data(667, None)}
        answer = kinsave.post("/telegram/app/session", json=body)
        assert answer.status_code == 403 and "ks_session" not in kinsave.cookies

    def test_outside_telegram_the_page_offers_the_short_link(self, kinsave, session_factory):
        page = kinsave.get("/telegram/app", params={"tgWebAppStartParam": "AbCdEf12345"})
        assert 'href="/s/AbCdEf12345"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        hostile = kinsave.get("/telegram/app", params={"tgWebAppStartParam": "../admin"})
        assert 'id="telegram-continue" href="/app"' in hostile.text


class TestMiniAppBase:
    def test_from_settings_where_get_me_cannot_be_asked(self, settings):
        named = settings.model_copy(
            update={"telegram_bot_username": "TeaHouseBot", "telegram_app_name": "shop"}
        )
        assert identity.mini_app_base(named) == "https://t.me/TeaHouseBot/shop"
        odd = settings.model_copy(update={"telegram_bot_username": "tea/../house"})
        assert identity.mini_app_base(odd) is None  # never a link built from a malformed name
        assert identity.mini_app_base(settings) is None  # no bot: no link

    def test_the_app_name_is_checked(self):
        with pytest.raises(ValidationError):
            Settings(telegram_app_name="app?x=1")
