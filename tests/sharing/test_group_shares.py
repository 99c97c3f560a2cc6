"""Groups and price cuts travel through the share machinery like any target: link, mini-app card,
QR and token per channel policy, the terms up front, landing on their own page, joins attributed
to the share; a deal's channel list is enforced on shares, starts and joins."""

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from kinsave.auth.deps import SESSION_COOKIE
from kinsave.db import unit_of_work, utcnow
from kinsave.groups.models import DealGroup, GroupMember
from kinsave.sharing import opening
from kinsave.sharing.lint import CampaignSharingLintInput, lint_campaign
from kinsave.sharing.policy import DEFAULT_POLICIES
from tests.coupons.factories import error_code
from tests.factories import Headers, login
from tests.groups.factories import Shop, create_deal, join, make_shop, start, started


@pytest.fixture
def shop(api, session_factory) -> Shop:
    return make_shop(api, session_factory)


def share(api: httpx.Client, shopper: Headers, kind: str, target_id: str, **body: Any):
    payload = {"target": {"type": kind, "id": target_id}, "channel": "wechat", **body}
    return api.post("/v1/shares", json=payload, headers=shopper)


def shared(api: httpx.Client, shopper: Headers, kind: str, target_id: str, **body: Any):
    response = share(api, shopper, kind, target_id, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def opened(api: httpx.Client, shopper: Headers, code: str) -> str:
    cookie = {"Cookie": f"{SESSION_COOKIE}={shopper['Authorization'].removeprefix('Bearer ')}"}
    response = api.get(f"/app/open/{code}", headers=cookie, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


class TestShareAGroup:
    def test_every_form_with_the_terms_up_front(self, api, shop):
        deal = create_deal(api, shop)
        grandma = login(api, "grandma")
        group = started(api, grandma, deal["id"])
        out = shared(api, grandma, "group", group["id"], language="zh-CN")
        assert out["target"] == {"type": "group", "id": group["id"]}
        assert re.search(
            r"拼团价¥39\.90，还差2人，剩余2[34]小时\d+分：和我一起拼团买Rice 5 kg。", out["text"]
        )
        assert out["mini_app_card"]["title"].startswith("拼团价¥39.90，还差2人，剩余2")
        assert out["qr_svg"] and out["token"] and out["deep_link"]
        english = shared(api, grandma, "group", group["id"])
        terms = r"Group price ¥39\.90, 2 more needed, 2[34] h \d+ min left: join my group for Rice"
        assert re.search(terms, english["text"])

    def test_the_share_text_passes_the_hosts_lint(self, api, shop):
        deal = create_deal(api, shop)
        grandma = login(api, "grandma")
        group = started(api, grandma, deal["id"])
        for language in ("en", "zh-CN"):
            text = shared(api, grandma, "group", group["id"], language=language)["text"]
            setup = CampaignSharingLintInput.model_validate(
                {
                    "share_text": text,
                    "group_deals": {
                        "enabled": True,
                        "shows_price": True,
                        "shows_needed": True,
                        "shows_time_left": True,
                    },
                }
            )
            assert lint_campaign(setup, DEFAULT_POLICIES["wechat"]) == []

    def test_a_relative_joins_through_the_share(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        grandma, son = login(api, "grandma"), login(api, "son")
        group = started(api, grandma, deal["id"])
        code = shared(api, grandma, "group", group["id"])["code"]
        assert opened(api, son, code) == f"/app/groups/{group['id']}?share={code}"
        joined = join(api, son, group["id"], **{"X-Share-Code": code})
        assert joined.status_code == 200, joined.text
        with unit_of_work(session_factory) as session:
            via = dict(
                session.execute(
                    select(GroupMember.shopper_id, GroupMember.via_share).where(
                        GroupMember.group_id == group["id"]
                    )
                ).all()
            )
        starter, relative = (m["shopper_id"] for m in joined.json()["members"])
        assert via == {starter: None, relative: code}

    def test_a_full_or_expired_group_lands_on_its_page(self, api, shop, session_factory):
        deal = create_deal(api, shop, group_size=2)
        grandma, son, aunt = login(api, "grandma"), login(api, "son"), login(api, "aunt")
        full = started(api, grandma, deal["id"])
        code = shared(api, grandma, "group", full["id"])["code"]
        join(api, son, full["id"])
        assert opened(api, aunt, code) == f"/app/groups/{full['id']}?share={code}"
        refused = join(api, aunt, full["id"], **{"X-Share-Code": code})
        assert error_code(refused) == "group_full"
        # Not a dead end: the refusal and the group say where a new group of the deal starts.
        new_group_path = f"/v1/group-deals/{deal['id']}/groups"
        assert refused.json()["error"]["details"] == {
            "deal_id": deal["id"],
            "new_group_path": new_group_path,
        }
        seen = api.get(f"/v1/groups/{full['id']}", headers=aunt).json()
        assert (seen["status"], seen["new_group_path"]) == ("succeeded", new_group_path)
        late = api.post(new_group_path, headers=aunt).json()
        assert api.get(f"/v1/groups/{late['id']}", headers=aunt).json()["new_group_path"] is None
        late_code = shared(api, aunt, "group", late["id"])["code"]
        with unit_of_work(session_factory) as session:
            session.execute(
                update(DealGroup)
                .where(DealGroup.id == late["id"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert opened(api, son, late_code) == f"/app/groups/{late['id']}?share={late_code}"
        cookie = {"Cookie": f"{SESSION_COOKIE}={son['Authorization'].removeprefix('Bearer ')}"}
        page = api.get(f"/app/groups/{late['id']}?share={late_code}", headers=cookie)
        assert page.status_code == 200 and 'id="group-failed"' in page.text
        assert 'id="start-new-group"' in page.text
        refused = join(api, son, late["id"], **{"X-Share-Code": late_code})
        assert error_code(refused) == "group_expired"
        assert refused.json()["error"]["details"]["new_group_path"] == new_group_path
        assert api.get(f"/v1/groups/{late['id']}", headers=son).json()["status"] == "failed"

    def test_telegram_startapp_opens_the_group_page(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        grandma = login(api, "grandma")
        login(api, "son")
        group = started(api, grandma, deal["id"])
        code = shared(api, grandma, "group", group["id"], channel="telegram")["code"]
        with unit_of_work(session_factory) as session:
            page = opening.open_in_mini_app(
                session, "son", code, base_url="http://test", now=utcnow()
            )
        assert page == f"/app/groups/{group['id']}?share={code}"

    def test_a_short_link_opens_the_mini_app_not_the_store(self, api, shop):
        deal = create_deal(api, shop)
        grandma = login(api, "grandma")
        group = started(api, grandma, deal["id"])
        code = shared(api, grandma, "group", group["id"], channel="web")["code"]
        browser = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile"}
        opened = api.get(f"/s/{code}", headers=browser, follow_redirects=False)
        assert opened.headers["location"].endswith(f"/app/open/{code}")

    def test_unknown_group_is_unavailable(self, api, shop):
        refused = share(api, login(api, "grandma"), "group", "grp_nope", shop_id=shop.shop_id)
        assert (refused.status_code, error_code(refused)) == (410, "target_unavailable")


class TestChannels:
    def test_a_deal_on_some_channels_refuses_the_others(self, api, shop):
        deal = create_deal(api, shop, channels=["wechat"])
        grandma, son, aunt = login(api, "grandma"), login(api, "son"), login(api, "aunt")
        refused = start(api, grandma, deal["id"], **{"X-Channel": "telegram"})
        assert (refused.status_code, error_code(refused)) == (403, "channel_not_allowed")
        group = start(api, grandma, deal["id"], **{"X-Channel": "wechat"}).json()
        refused = share(api, grandma, "group", group["id"], channel="telegram")
        assert (refused.status_code, error_code(refused)) == (403, "channel_not_allowed")
        code = shared(api, grandma, "group", group["id"])["code"]
        # The share's channel wins over a header naming another.
        assert join(api, son, group["id"], **{"X-Share-Code": code, "X-Channel": "sms"}).is_success
        refused = join(api, aunt, group["id"], **{"X-Channel": "sms"})
        assert (refused.status_code, error_code(refused)) == (403, "channel_not_allowed")

    def test_every_channel_when_the_deal_names_none(self, api, shop):
        deal = create_deal(api, shop)
        grandma = login(api, "grandma")
        assert start(api, grandma, deal["id"], **{"X-Channel": "sms"}).status_code == 201
