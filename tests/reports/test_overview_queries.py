"""The overview's numbers from a real shop's day, through the API, on both databases."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from kinsave.db import unit_of_work
from kinsave.reports import queries
from tests.coupons.factories import create_template, push_products
from tests.factories import create_campaign, give_credit, link_shopper, login, shop_key
from tests.sharing.factories import RICE


def grab(api, shopper, envelope_id: str) -> int:
    response = api.post(f"/v1/envelopes/{envelope_id}/grab", headers=shopper)
    assert response.status_code == 200, response.text
    return int(response.json()["amount"])


def attributed_order(api, store, operator, campaign, grandma, template) -> None:
    """Grandma's deal share brings the grandson: ¥59 rice, ¥20 coupon, ¥3 of credit."""
    body = {"target": {"type": "deal", "id": "rice-5kg"}, "channel": "wechat"}
    shared = api.post("/v1/shares", json={**body, "campaign_id": campaign["id"]}, headers=grandma)
    resolve = {"text": shared.json()["text"], "shopper_id": "grandson"}
    resolved = api.post("/v1/store/tokens/resolve", json=resolve, headers=store).json()
    assert [c["template_id"] for c in resolved["claimed_coupons"]] == [template["id"]]
    line = {"sku": "rice-5kg", "quantity": 1, "unit_price": 5900, "category": "rice"}
    cart = {"shopper_id": "grandson", "lines": [line], "channel": "wechat", "use_credit": 300}
    quote = api.post("/v1/store/checkout/quote", json=cart, headers=store).json()
    reserve = {**cart, "order_id": "o-1", "coupons": quote["coupons"]}
    assert api.post("/v1/store/checkout/reserve", json=reserve, headers=store).is_success
    paid = {"attribution": resolved["attribution"], "payment_method": "wechat_pay"}
    assert api.post("/v1/store/orders/o-1/paid", json=paid, headers=store).is_success


class TestShopOverviewNumbers:
    def test_a_day_of_claims_envelopes_and_an_attributed_order(self, api, session_factory):
        operator = shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        campaign = create_campaign(api, operator, budget=100_000)
        shop_id = campaign["shop_id"]
        push_products(api, store, [RICE])
        template = create_template(
            api, operator, scope={"categories": ["rice"]}, amount=2000, threshold=5000
        )
        grandma, grandson = login(api, "grandma"), login(api, "grandson")
        link_shopper(session_factory, shop_id, "grandson")
        give_credit(api, operator, campaign["id"], "grandson", 300)
        give_credit(api, operator, campaign["id"], "grandma", 500)
        shop_envelope = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/envelopes",
            json={"total": 1000, "shares": 5, "kind": "lucky"},
            headers=operator,
        ).json()
        grabbed = grab(api, grandson, shop_envelope["id"]) + grab(
            api, login(api, "mum"), shop_envelope["id"]
        )
        family = api.post(
            "/v1/envelopes",
            json={"total": 500, "shares": 2, "kind": "equal", "shop_id": shop_id},
            headers=grandma,
        ).json()
        assert grab(api, grandson, family["id"]) == 250  # her own credit: issued nothing new
        attributed_order(api, store, operator, campaign, grandma, template)

        with unit_of_work(session_factory) as session:
            days = queries.daily_totals(session, shop_id, datetime.now(UTC), "Asia/Shanghai")
        month = queries.overview.window(days, 30)
        assert len(days) == 30
        assert month.claims == 2 + 1 + 1  # two shop-envelope grabs, grandma's, the coupon
        assert month.budget_burn == 300 + 500 + 1000
        assert month.credit_issued == 300 + 500 + grabbed
        assert month.credit_redeemed == 300
        assert month.coupon_cost == 2000
        assert month.attributed_sales == 5900 - 2000 - 300
        spent = month.credit_issued + month.coupon_cost
        assert month.return_on_spend == (Decimal(3600) / spent).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        assert days[-1].budget_remaining == 100_000 - 1800
        assert all(d.budget_remaining >= 0 for d in days)
