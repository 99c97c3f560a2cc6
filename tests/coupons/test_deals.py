"""The deals feed, and journey 1 on the demo seed: rice 5 kg ¥59, ¥39 after coupon."""

from kinsave import demo
from kinsave.db import unit_of_work
from tests.coupons.factories import RICE_PRODUCTS, claim, create_template, push_products
from tests.factories import login, shop_key


def deals(api, shopper, **params):
    response = api.get("/v1/deals", params=params, headers=shopper)
    assert response.status_code == 200, response.text
    return response.json()


class TestDeals:
    def test_ranked_by_price_after_best_coupon(self, api, session_factory):
        operator = shop_key(session_factory)
        push_products(api, shop_key(session_factory, role="store"), RICE_PRODUCTS)
        rice_off = create_template(
            api, operator, name="¥30 off rice", amount=3000, scope={"categories": ["rice"]}
        )
        create_template(api, operator, name="¥5 off", amount=500)
        grandma = login(api, "grandma")
        held = claim(api, grandma, rice_off["id"])
        feed = deals(api, grandma)
        assert [(d["sku"], d["price_after_coupon"]) for d in feed["deals"]] == [
            ("oil-1l", 1500),
            ("rice-5kg", 2900),
            ("rice-10kg", 7900),
        ]
        rice = feed["deals"][1]
        assert rice["coupon"] == {
            "template_id": rice_off["id"],
            "coupon_id": held["id"],
            "name": "¥30 off rice",
            "held": True,
        }
        assert rice["label"] == "Rice 5 kg ¥59, ¥29 after coupon"
        assert feed["deals"][0]["coupon"]["held"] is False  # ¥5 off can still be claimed

    def test_filters_and_pages(self, api, session_factory):
        push_products(api, shop_key(session_factory, role="store"), RICE_PRODUCTS)
        grandma = login(api, "grandma")
        assert [d["sku"] for d in deals(api, grandma, category="rice")["deals"]] == [
            "rice-5kg",
            "rice-10kg",
        ]
        assert [d["sku"] for d in deals(api, grandma, min_price=5000, max_price=6000)["deals"]] == [
            "rice-5kg"
        ]
        page = deals(api, grandma, limit=1, offset=1)
        assert (page["total"], [d["sku"] for d in page["deals"]]) == (3, ["rice-5kg"])


class TestDemoJourney:
    def test_grandma_sees_rice_at_39_after_claiming(self, api, session_factory, settings):
        with unit_of_work(session_factory) as session:
            seeded = demo.seed(session, settings)
        grandma = login(api, "grandma")
        center = api.get("/v1/coupons/center", headers=grandma).json()["templates"]
        names = {e["template"]["name"]: e["template"]["id"] for e in center}
        assert {"¥20 off rice", "¥20 off ¥99"} <= set(names)
        claim(api, grandma, names["¥20 off rice"])
        claim(api, grandma, names["¥20 off ¥99"])
        feed = deals(api, grandma, shop_id=seeded.shop_id, category="rice")
        rice = next(d for d in feed["deals"] if d["sku"] == "rice-5kg")
        assert (rice["price"], rice["price_after_coupon"]) == (5900, 3900)
        assert rice["label"] == "Northeast rice 5 kg ¥59, ¥39 after coupon"
        assert rice["coupon"]["held"] is True
        everything = deals(api, grandma, shop_id=seeded.shop_id, limit=100)
        assert everything["total"] == 50
