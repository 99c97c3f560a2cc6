"""Every target gets the same share sheet (link, mini-app card, QR, token, by the channel's
policy): deals, envelopes and help requests. The card follows the policy's switch."""

from typing import Any

import httpx

from tests.coupons.factories import push_products
from tests.factories import Headers, create_campaign, funded_shopper, login, shop_key
from tests.sharing.factories import RICE, api_share
from tests.social.test_help_requests import _offer, _start


def _envelope(api: httpx.Client, sender: Headers, **extra: Any) -> dict[str, Any]:
    body = {"total": 500, "shares": 2, "message": "恭喜发财", **extra}
    response = api.post("/v1/envelopes", json=body, headers=sender)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _share(api: httpx.Client, shopper: Headers, **body: Any) -> httpx.Response:
    return api.post("/v1/shares", json=body, headers=shopper)


def _put_policy(api: httpx.Client, operator: Headers, channel: str, **rules: Any) -> None:
    response = api.put(f"/v1/admin/channels/{channel}/policy", json=rules, headers=operator)
    assert response.status_code == 200, response.text


class TestMiniAppCard:
    def test_wechat_deal_card_opens_the_mini_program_at_the_share(self, api, session_factory):
        operator = shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        campaign = create_campaign(api, operator)
        push_products(api, store, [{**RICE, "image_url": "https://img.test/rice.jpg"}])
        grandma = login(api, "grandma")
        out = api_share(api, grandma, campaign["id"], "wechat", language="zh-CN")
        card = out["mini_app_card"]
        assert card == {
            "title": "给你分享一个店里的好价。",
            "picture_url": "https://img.test/rice.jpg",
            "path": f"pages/share/index?s={out['code']}",
        }

    def test_switch_off_in_the_policy_takes_the_card_away(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        push_products(api, shop_key(session_factory, role="store"), [RICE])
        grandma = login(api, "grandma")
        _put_policy(api, operator, "wechat", links_allowed=False, mini_app_card_allowed=False)
        # Left out of the PUT, a field takes the built-in default: the deep link stays.
        policy = api.get("/v1/admin/channels/wechat/policy", headers=operator).json()
        assert policy["current"]["rules"]["mini_app_card_allowed"] is False
        out = api_share(api, grandma, campaign["id"], "wechat")
        assert out["mini_app_card"] is None and out["deep_link"].startswith("weixin://")

    def test_no_card_where_the_host_opens_no_mini_app(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        push_products(api, shop_key(session_factory, role="store"), [RICE])
        _put_policy(api, operator, "web", mini_app_card_allowed=True)
        out = api_share(api, login(api, "grandma"), campaign["id"], "web")
        assert out["mini_app_card"] is None and out["link"] is not None

    def test_telegram_link_and_card_need_the_bot(self, api, session_factory):
        """This server runs no bot: no t.me link is made up; a base the operator set is used."""
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        push_products(api, shop_key(session_factory, role="store"), [RICE])
        grandma = login(api, "grandma")
        out = api_share(api, grandma, campaign["id"], "telegram")
        assert out["deep_link"] is None and out["mini_app_card"] is None
        assert out["link"].endswith(f"/s/{out['code']}")
        assert out["qr_png_url"] is not None  # the QR carries the short link instead
        base = "https://t.me/TeaHouseBot/shop"
        deep_link = {"format": "telegram_startapp", "base": base}
        _put_policy(api, operator, "telegram", deep_link=deep_link, mini_app_card_allowed=True)
        out = api_share(api, grandma, campaign["id"], "telegram")
        assert out["deep_link"] == f"{base}?startapp={out['code']}"
        assert out["mini_app_card"]["path"] == out["deep_link"]


class TestEnvelopeAndHelpShares:
    def test_envelope_share_names_its_shop_and_offers_every_form(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5_000)
        envelope = _envelope(api, grandma)
        target = {"type": "envelope", "id": envelope["id"]}
        response = _share(api, grandma, target=target, channel="wechat", language="zh-CN")
        assert response.status_code == 201, response.text
        out = response.json()
        assert out["target"] == target and out["text"].startswith(out["token"])
        assert "给你发了一个红包" in out["text"]
        assert out["qr_png_url"] and out["link"] is None
        card = out["mini_app_card"]
        assert card["title"] == "给你发了一个红包。"
        assert card["picture_url"].endswith("/static/cards/envelope.png")
        assert card["path"] == f"pages/share/index?s={out['code']}"
        picture = api.get(card["picture_url"].removeprefix(str(api.base_url).rstrip("/")))
        assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
        web = _share(api, grandma, target=target, channel="web").json()
        assert web["link"].endswith(f"/s/{web['code']}") and web["mini_app_card"] is None

    def test_envelope_shared_as_another_shops_is_refused(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5_000)
        envelope = _envelope(api, grandma)
        other = shop_key(session_factory, "Other Shop")
        other_campaign = create_campaign(api, other)
        target = {"type": "envelope", "id": envelope["id"]}
        response = _share(
            api, grandma, target=target, channel="web", campaign_id=other_campaign["id"]
        )
        assert response.status_code == 410
        assert response.json()["error"]["code"] == "target_unavailable"
        missing = {"type": "envelope", "id": "env_doesnotexist"}
        response = _share(api, grandma, target=missing, channel="web")
        assert response.status_code == 410

    def test_help_request_share_names_its_shop(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        offer = _offer(api, operator, campaign["id"])
        grandma = login(api, "grandma")
        started = _start(api, grandma, offer["id"])
        target = {"type": "help", "id": started["id"]}
        out = _share(api, grandma, target=target, channel="wechat").json()
        assert out["target"] == target
        assert out["mini_app_card"]["title"] == "Help me unlock a red envelope."
        assert out["mini_app_card"]["picture_url"].endswith("/static/cards/help.png")
