"""set_price coupons through the store's checkout API: quote, reserve, paid, cancel, refund."""

from dataclasses import dataclass

import pytest

from kinsave.coupons import entitlements
from kinsave.coupons.models import CouponTemplate
from kinsave.db import unit_of_work
from tests.coupons.factories import (
    RICE_PRODUCTS,
    claim,
    create_template,
    error_code,
    my_coupon_states,
    push_products,
)
from tests.factories import (
    Headers,
    link_shopper,
    login,
    shop_key,
    store_shop_id,
)

RICE = {"sku": "rice-5kg", "quantity": 1, "unit_price": 5900}
OIL = {"sku": "oil-1l", "quantity": 1, "unit_price": 2000}


@dataclass
class Shop:
    store: Headers
    operator: Headers
    grandma: Headers
    shop_id: str
    template_id: str  # a granted set_price template: rice-5kg at ¥39.90


def cart(*lines: dict[str, object], **extra: object) -> dict[str, object]:
    return {"shopper_id": "grandma", "lines": list(lines), "shipping_fee": 0, **extra}


@pytest.fixture
def shop(api, session_factory) -> Shop:
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    push_products(api, store, RICE_PRODUCTS)
    shop_id = store_shop_id(session_factory, store)
    grandma = login(api, "grandma")
    link_shopper(session_factory, shop_id, "grandma")
    with unit_of_work(session_factory) as session:
        template_id = entitlements.create_set_price_template(
            session,
            shop_id,
            name="Rice at group price",
            sku="rice-5kg",
            price=3990,
            stock=3,
            valid_days=7,
        )
    return Shop(store, operator, grandma, shop_id, template_id)


def grant(session_factory, shop: Shop, *shoppers: str) -> dict[str, str]:
    with unit_of_work(session_factory) as session:
        return entitlements.grant_set_price(session, shop.template_id, list(shoppers))


def quote(api, shop: Shop, body: dict[str, object]) -> dict[str, object]:
    response = api.post("/v1/store/checkout/quote", json=body, headers=shop.store)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def issued(session_factory, template_id: str) -> int:
    with unit_of_work(session_factory) as session:
        return session.get(CouponTemplate, template_id).issued  # type: ignore[union-attr]


class TestQuote:
    def test_one_unit_at_the_set_price(self, api, shop, session_factory):
        coupon = grant(session_factory, shop, "grandma")["grandma"]
        body = quote(api, shop, cart({**RICE, "quantity": 2}, OIL))
        assert body["coupons"] == [coupon]
        assert body["discount"] == 5900 - 3990  # one unit only
        assert body["total_to_pay"] == 3990 + 5900 + 2000

    def test_not_applicable_to_other_skus(self, api, shop, session_factory):
        grant(session_factory, shop, "grandma")
        body = quote(api, shop, cart(OIL))
        assert body["coupons"] == [] and body["total_to_pay"] == 2000
        assert body["explanations"][0]["reason"] == "out_of_scope"

    def test_price_already_lower_saves_nothing(self, api, shop, session_factory):
        grant(session_factory, shop, "grandma")
        body = quote(api, shop, cart({**RICE, "unit_price": 3500}))
        assert body["coupons"] == [] and body["total_to_pay"] == 3500
        assert body["explanations"][0]["reason"] == "no_extra_saving"

    def test_operator_template_claimed_like_any_coupon(self, api, shop):
        template = create_template(
            api,
            shop.operator,
            name="Rice ¥45",
            kind="set_price",
            amount=4500,
            scope={"skus": ["rice-5kg"]},
            stacking_group="default",
        )
        coupon = claim(api, shop.grandma, template["id"])
        body = quote(api, shop, cart(RICE))
        assert body["coupons"] == [coupon["id"]] and body["total_to_pay"] == 4500

    def test_operator_template_needs_one_sku(self, api, shop):
        body = {
            "name": "bad",
            "kind": "set_price",
            "amount": 100,
            "stock": 1,
            "valid_days": 1,
            "scope": {"categories": ["rice"]},
        }
        refused = api.post("/v1/admin/coupon-templates", json=body, headers=shop.operator)
        assert (refused.status_code, error_code(refused)) == (422, "invalid_request")


class TestGrant:
    def test_never_beyond_stock_and_all_or_nothing(self, api, shop, session_factory):
        for relative in ("son", "daughter", "grandson"):
            login(api, relative)
        grant(session_factory, shop, "grandma", "son")
        with pytest.raises(Exception, match="coupon_sold_out|every entitlement"):
            grant(session_factory, shop, "daughter", "grandson")
        assert issued(session_factory, shop.template_id) == 2

    def test_granted_template_cannot_be_claimed(self, api, shop):
        refused = api.post(
            "/v1/coupons/claim", json={"template_id": shop.template_id}, headers=shop.grandma
        )
        assert (refused.status_code, error_code(refused)) == (409, "coupon_not_claimable")
        assert my_coupon_states(api, shop.grandma) == {}


class TestCheckout:
    def reserve(self, api, shop: Shop, order_id: str) -> dict[str, object]:
        quoted = quote(api, shop, cart(RICE))
        body = {**cart(RICE), "order_id": order_id, "coupons": quoted["coupons"]}
        response = api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()
        return result

    def test_reserve_paid_refund(self, api, shop, session_factory):
        coupon = grant(session_factory, shop, "grandma")["grandma"]
        order = self.reserve(api, shop, "g-1")
        assert order["total_to_pay"] == 3990
        assert my_coupon_states(api, shop.grandma) == {coupon: "reserved"}
        paid = api.post("/v1/store/orders/g-1/paid", headers=shop.store)
        assert paid.json()["status"] == "paid"
        assert my_coupon_states(api, shop.grandma) == {coupon: "used"}
        # A second order cannot use it again.
        again = quote(api, shop, cart(RICE))
        assert again["coupons"] == [] and again["total_to_pay"] == 5900
        refund = api.post(
            "/v1/store/orders/g-1/refund", json={"refund_id": "r"}, headers=shop.store
        )
        assert refund.json()["amount"] == 3990
        assert refund.json()["coupons_restored"] == [coupon]
        assert my_coupon_states(api, shop.grandma) == {coupon: "available"}

    def test_cancel_gives_it_back(self, api, shop, session_factory):
        coupon = grant(session_factory, shop, "grandma")["grandma"]
        self.reserve(api, shop, "g-2")
        cancelled = api.post("/v1/store/orders/g-2/cancel", headers=shop.store)
        assert cancelled.json()["status"] == "cancelled"
        assert my_coupon_states(api, shop.grandma) == {coupon: "available"}
        assert self.reserve(api, shop, "g-3")["total_to_pay"] == 3990
