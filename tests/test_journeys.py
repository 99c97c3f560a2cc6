"""PRODUCT.md's journeys end to end through the real HTTP API, across every package."""

from kinsave.jobs import release_referral_rewards
from tests.coupons.factories import create_template, push_products
from tests.factories import create_campaign, give_credit, login, shop_key, wallet_balance

RICE = {"sku": "rice-5kg", "title": "Rice 5 kg", "price": 5900, "category": "rice"}


class TestJourneyTwo:
    """Grandma shares a deal where the host blocks the store; her grandson buys via the token."""

    def test_token_checkout_attribution_reward_and_refund(self, api, session_factory):
        operator = shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        campaign = create_campaign(api, operator, budget=100_000)
        setup = {"referral": {"amount": 500, "hold_seconds": 0}}
        configured = api.put(
            f"/v1/admin/campaigns/{campaign['id']}/sharing", json=setup, headers=operator
        )
        assert configured.status_code == 200, configured.text
        hook = api.post(
            "/v1/admin/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=operator
        )
        assert hook.status_code == 201, hook.text
        push_products(api, store, [RICE])
        template = create_template(api, operator, scope={"categories": ["rice"]})

        grandma = login(api, "grandma")
        share = api.post(
            "/v1/shares",
            json={
                "target": {"type": "deal", "id": "rice-5kg"},
                "channel": "wechat",
                "campaign_id": campaign["id"],
            },
            headers=grandma,
        ).json()
        assert share["link"] is None and share["token"] in share["text"]  # no store link here

        grandson = login(api, "grandson")
        claimed = api.post(
            "/v1/coupons/claim",
            json={"template_id": template["id"], "share_code": share["code"]},
            headers=grandson,
        )
        assert claimed.status_code == 201, claimed.text
        give_credit(api, operator, campaign["id"], "grandson", 300)
        pasted = f"{share['text']} (from the family group)"
        resolved = api.post("/v1/store/tokens/resolve", json={"text": pasted}, headers=store)
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["target"] == {"type": "deal", "id": "rice-5kg"}
        visit = api.post(
            "/v1/store/visits",
            json={"attribution": resolved.json()["attribution"], "shopper_id": "grandson"},
            headers=store,
        )
        assert visit.status_code == 201 and visit.json()["share_code"] == share["code"]
        stranger = api.post("/v1/store/visits", json={"attribution": "nonsense"}, headers=store)
        assert stranger.status_code == 201 and stranger.json()["share_code"] is None

        # The grandson links the store to kinsave (the store's sign-in), so it may act for him.
        code = api.post("/v1/store-links", json={"shop_id": campaign["shop_id"]}, headers=grandson)
        assert code.status_code == 201, code.text
        linked = api.post("/v1/store/links", json={"code": code.json()["code"]}, headers=store)
        assert linked.status_code == 200 and linked.json()["shopper_id"] == "grandson"

        channel = resolved.json()["channel"]  # the visit came from a WeChat share
        cart = {
            "shopper_id": "grandson",
            "lines": [{**_line(RICE), "quantity": 1}],
            "channel": channel,
        }
        quote = api.post(
            "/v1/store/checkout/quote", json={**cart, "use_credit": 300}, headers=store
        ).json()
        assert quote["total_to_pay"] == 5900 - 2000 - 300
        assert quote["payment_methods"] == ["wallet", "wechat_pay"]
        reserve = api.post(
            "/v1/store/checkout/reserve",
            json={**cart, "order_id": "o-1", "coupons": quote["coupons"], "use_credit": 300},
            headers=store,
        )
        assert reserve.status_code in (200, 201), reserve.text
        paid = api.post(
            "/v1/store/orders/o-1/paid",
            json={"attribution": resolved.json()["attribution"], "payment_method": "wechat_pay"},
            headers=store,
        )
        assert paid.status_code == 200, paid.text
        assert (paid.json()["channel"], paid.json()["payment_method"]) == ("wechat", "wechat_pay")
        assert wallet_balance(api, grandson) == 0

        assert release_referral_rewards(session_factory).paid_amount == 500
        assert wallet_balance(api, grandma) == 500
        funnel = api.get(
            f"/v1/admin/campaigns/{campaign['id']}/funnel?by=channel", headers=operator
        ).json()
        wechat = next(row for row in funnel["rows"] if row["channel"] == "wechat")
        counts = ("shares", "claims", "resolves", "store_visits", "orders")
        assert [wechat[name] for name in counts] == [1, 1, 1, 1, 1]
        assert wechat["sales"] == 3600 and wechat["reward_cost"] == 500
        assert wechat["coupon_cost"] == 2000

        refund = api.post("/v1/store/orders/o-1/refund", json={}, headers=store)
        assert refund.status_code == 200, refund.text
        assert wallet_balance(api, grandma) == 0  # the reward is clawed back exactly
        assert wallet_balance(api, grandson) == 300  # credit returned
        deliveries = api.get("/v1/admin/webhooks/deliveries", headers=operator).json()
        events = sorted(d["event"] for d in deliveries["deliveries"])
        assert events == ["order.paid", "order.refunded"]


def _line(product: dict[str, object]) -> dict[str, object]:
    return {"sku": product["sku"], "unit_price": product["price"], "category": product["category"]}
