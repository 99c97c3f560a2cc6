"""The funnel counts every stage a journey passes through, from the events the journey makes:
share, link and mini-app opens, token resolves, claims through a share (a coupon carried by a
resolved token, grabs of a shared shop envelope), store visits, orders, sales and coupon cost."""

from typing import Any

from kinsave.auth.deps import SESSION_COOKIE
from tests.coupons.factories import create_template, push_products
from tests.factories import create_campaign, link_shopper, login, shop_key
from tests.sharing.factories import RICE

HUMAN = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile"}


def share(api: Any, sharer: dict[str, str], campaign_id: str, channel: str, target: dict) -> dict:
    body = {"target": target, "channel": channel, "campaign_id": campaign_id}
    response = api.post("/v1/shares", json=body, headers=sharer)
    assert response.status_code == 201, response.text
    return dict(response.json())


def open_in_mini_app(api: Any, shopper: dict[str, str], code: str) -> str:
    """The mini-app card's path, opened by a signed-in shopper: where it leads."""
    token = shopper["Authorization"].removeprefix("Bearer ")
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    response = api.get(f"/app/open/{code}", headers=cookie, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


class TestFunnelFromJourneys:
    def test_every_stage_counts_what_the_journeys_did(self, api, session_factory):
        operator = shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        campaign = create_campaign(api, operator, budget=100_000)
        campaign_id, shop_id = campaign["id"], campaign["shop_id"]
        push_products(api, store, [RICE])
        template = create_template(
            api, operator, scope={"categories": ["rice"]}, amount=2000, threshold=5000
        )
        grandma = login(api, "grandma")

        # Journey 2: a deal shared on WeChat; the grandson pastes the token into the store.
        deal = share(api, grandma, campaign_id, "wechat", {"type": "deal", "id": "rice-5kg"})
        grandson = login(api, "grandson")
        link_shopper(session_factory, shop_id, "grandson")
        resolved = api.post(
            "/v1/store/tokens/resolve",
            json={"text": deal["text"], "shopper_id": "grandson"},
            headers=store,
        ).json()
        assert [c["template_id"] for c in resolved["claimed_coupons"]] == [template["id"]]
        visit = {"attribution": resolved["attribution"], "shopper_id": "grandson"}
        assert api.post("/v1/store/visits", json=visit, headers=store).status_code == 201
        line = {"sku": "rice-5kg", "quantity": 1, "unit_price": 5900, "category": "rice"}
        cart = {"shopper_id": "grandson", "lines": [line], "channel": "wechat"}
        quote = api.post("/v1/store/checkout/quote", json=cart, headers=store).json()
        reserve = {**cart, "order_id": "o-1", "coupons": quote["coupons"]}
        assert api.post("/v1/store/checkout/reserve", json=reserve, headers=store).is_success
        paid = {"attribution": resolved["attribution"], "payment_method": "wechat_pay"}
        assert api.post("/v1/store/orders/o-1/paid", json=paid, headers=store).is_success

        # Journey 3 with the shop's envelope: shared on the web; one relative opens the link,
        # two open the mini-app card and grab.
        envelope = api.post(
            f"/v1/admin/campaigns/{campaign_id}/envelopes",
            json={"total": 1000, "shares": 5, "kind": "lucky"},
            headers=operator,
        ).json()
        shared = share(api, grandma, campaign_id, "web", {"type": "envelope", "id": envelope["id"]})
        api.get(f"/s/{shared['code']}", headers=HUMAN, follow_redirects=False)
        for relative in ("mum", "xiaoming"):
            headers = login(api, relative)
            landed = open_in_mini_app(api, headers, shared["code"])
            assert landed == f"/app/e/{envelope['id']}"
            grabbed = api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=headers)
            assert grabbed.status_code == 200, grabbed.text
        # A grab nobody's share led to counts for no share.
        stranger = login(api, "stranger")
        assert api.post(f"/v1/envelopes/{envelope['id']}/grab", headers=stranger).is_success

        funnel = api.get(f"/v1/admin/campaigns/{campaign_id}/funnel?by=channel", headers=operator)
        assert funnel.status_code == 200, funnel.text
        rows = {row["channel"]: row for row in funnel.json()["rows"]}
        stages = ("shares", "opens", "resolves", "claims", "store_visits", "orders")
        assert {name: rows["wechat"][name] for name in stages} == {
            "shares": 1,
            "opens": 0,
            "resolves": 1,
            "claims": 1,
            "store_visits": 1,
            "orders": 1,
        }
        assert (rows["wechat"]["sales"], rows["wechat"]["coupon_cost"]) == (3900, 2000)
        assert {name: rows["web"][name] for name in stages} == {
            "shares": 1,
            "opens": 3,
            "resolves": 0,
            "claims": 2,
            "store_visits": 0,
            "orders": 0,
        }
        assert grandson  # signed in: the resolve claimed the coupon for him

    def test_a_share_opened_before_sign_in_asks_for_it(self, api, session_factory):
        response = api.get("/app/open/abcdefghijk", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/app/login?next=")

    def test_an_unknown_share_is_a_missing_page(self, api, session_factory):
        shopper = login(api, "someone")
        token = shopper["Authorization"].removeprefix("Bearer ")
        response = api.get("/app/open/abcdefghijk", headers={"Cookie": f"{SESSION_COOKIE}={token}"})
        assert response.status_code == 404
