"""The mini app's wallet: one line per shop, and the history of one shop on demand."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from tests.factories import create_campaign, give_credit, shop_key


def signed_in_page(api: httpx.Client, user_id: str) -> httpx.Client:
    client = httpx.Client(base_url=api.base_url, timeout=30)
    client.get("/app/login")
    response = client.post(
        "/app/login", data={"user_id": user_id, "csrf": client.cookies["ks_csrf"]}
    )
    assert response.status_code == 303, response.text
    return client


class TestWalletPage:
    def test_a_line_per_shop_and_a_history_per_shop(self, api, session_factory):
        market, bakery = (
            shop_key(session_factory, "Harvest Market"),
            shop_key(session_factory, "Corner Bakery"),
        )
        market_campaign, bakery_campaign = (
            create_campaign(api, market),
            create_campaign(api, bakery),
        )
        page = signed_in_page(api, "grandma")
        try:
            give_credit(api, market, market_campaign["id"], "grandma", 1288)
            give_credit(api, bakery, bakery_campaign["id"], "grandma", 500)
            everything = page.get("/app/wallet").text
            assert f'data-shop-id="{market_campaign["shop_id"]}"' in everything
            assert f'data-shop-id="{bakery_campaign["shop_id"]}"' in everything
            assert "¥12.88" in everything and "¥5.00" in everything
            bakery_only = page.get("/app/wallet", params={"shop": bakery_campaign["shop_id"]})
            history = bakery_only.text.split('id="history"')[1]
            assert "+¥5.00" in history and "+¥12.88" not in history
        finally:
            page.close()

    def test_times_are_in_shanghai_never_bare_utc(self, api, session_factory):
        """The history's time is the shop's local time (Asia/Shanghai), not UTC."""
        market = shop_key(session_factory, "Harvest Market")
        campaign = create_campaign(api, market)
        page = signed_in_page(api, "grandma")
        try:
            give_credit(api, market, campaign["id"], "grandma", 1288)
            history = page.get("/app/wallet").text.split('id="history"')[1]
            stamp = history.split('<time datetime="')[1].split('"')[0]
            shown = history.split("</time>")[0].rsplit(">", 1)[1]
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            local = moment.astimezone(ZoneInfo("Asia/Shanghai"))
            assert shown == local.strftime("%Y-%m-%d %H:%M")
            assert shown != moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        finally:
            page.close()
