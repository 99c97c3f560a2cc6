"""The funnel report per channel and day, bots excluded, CSV export, shop isolation."""

from datetime import UTC, datetime

from kinsave.db import unit_of_work
from kinsave.sharing.attribution import attribute_order
from kinsave.sharing.events import record_event
from tests.coupons.factories import push_products
from tests.factories import create_campaign, login, shop_key
from tests.sharing.factories import RICE, api_share

HUMAN = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile"}
BOTS = ["TelegramBot (like TwitterBot)", "facebookexternalhit/1.1", "WhatsApp/2.23", "curl/8.5"]
REFERRAL = {"referral": {"amount": 500}}


def journey(api, session_factory):
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    campaign = create_campaign(api, operator)
    push_products(api, store, [RICE])
    api.put(f"/v1/admin/campaigns/{campaign['id']}/sharing", json=REFERRAL, headers=operator)
    grandma = login(api, "grandma")
    wechat = api_share(api, grandma, campaign["id"], "wechat")
    web = api_share(api, grandma, campaign["id"], "web")
    for agent in BOTS:
        api.get(f"/s/{web['code']}", headers={"User-Agent": agent}, follow_redirects=False)
    for _ in range(2):
        api.get(f"/s/{web['code']}", headers=HUMAN, follow_redirects=False)
    api.post("/v1/store/tokens/resolve", json={"text": wechat["text"]}, headers=store)
    login(api, "grandson")
    with unit_of_work(session_factory) as session:
        shop_id = campaign["shop_id"]
        for kind in ("coupon_claimed_via_share", "store_visit"):
            record_event(session, kind=kind, shop_id=shop_id, share_code=wechat["code"])
        attribute_order(
            session,
            shop_id=shop_id,
            order_id="order-1",
            shopper_id="grandson",
            amount_paid=3900,
            attribution=wechat["code"],
            now=datetime.now(UTC),
        )
    return operator, campaign["id"]


class TestFunnel:
    def test_by_channel(self, api, session_factory):
        operator, campaign_id = journey(api, session_factory)
        response = api.get(f"/v1/admin/campaigns/{campaign_id}/funnel?by=channel", headers=operator)
        assert response.status_code == 200, response.text
        rows = {row["channel"]: row for row in response.json()["rows"]}
        assert rows["wechat"] == {
            "channel": "wechat",
            "day": None,
            "shares": 1,
            "opens": 0,
            "resolves": 1,
            "claims": 1,
            "store_visits": 1,
            "orders": 1,
            "sales": 3900,
            "coupon_cost": 0,
            "reward_cost": 500,
        }
        assert (rows["web"]["shares"], rows["web"]["opens"], rows["web"]["orders"]) == (1, 2, 0)

    def test_by_channel_and_day_as_csv(self, api, session_factory):
        operator, campaign_id = journey(api, session_factory)
        url = f"/v1/admin/campaigns/{campaign_id}/funnel?by=channel,day&format=csv"
        response = api.get(url, headers=operator)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/csv"
        )
        lines = response.text.strip().split("\n")
        assert lines[0] == (
            "channel,day,shares,opens,resolves,claims,store_visits,orders,sales,coupon_cost,reward_cost"
        )
        assert (
            len(lines) == 3
            and lines[1].startswith("web,20")
            and lines[1].endswith(",1,2,0,0,0,0,0,0,0")
        )
        assert lines[2].startswith("wechat,20") and lines[2].endswith(",1,0,1,1,1,1,3900,0,500")

    def test_by_day(self, api, session_factory):
        operator, campaign_id = journey(api, session_factory)
        rows = api.get(f"/v1/admin/campaigns/{campaign_id}/funnel?by=day", headers=operator).json()[
            "rows"
        ]
        assert len(rows) == 1 and rows[0]["channel"] is None and rows[0]["shares"] == 2
        assert rows[0]["opens"] == 2

    def test_other_shop_sees_nothing(self, api, session_factory):
        _, campaign_id = journey(api, session_factory)
        other = shop_key(session_factory, shop="Other Shop")
        response = api.get(f"/v1/admin/campaigns/{campaign_id}/funnel", headers=other)
        assert response.status_code == 404

    def test_bad_grouping(self, api, session_factory):
        operator, campaign_id = journey(api, session_factory)
        response = api.get(f"/v1/admin/campaigns/{campaign_id}/funnel?by=shopper", headers=operator)
        assert response.status_code == 422
