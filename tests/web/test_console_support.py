"""The console's shopper lookup: support finds the grandson, sees his wallet history, coupons,
orders and refunds at the shop, and adjusts his credit with a reason (audited, never below
zero, a double submit books once), in English and Chinese."""

import re

import pytest
from playwright.sync_api import expect

from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from tests.coupons.factories import create_template, push_products
from tests.factories import create_campaign, give_credit, link_shopper, login, shop_key
from tests.sharing.factories import RICE
from tests.web.conftest import check_accessibility
from tests.web.test_console import sign_in_console

pytestmark = pytest.mark.browser


def grandsons_order_and_refund(api, session_factory) -> tuple[str, str]:
    """The grandson holds ¥3 of credit, bought rice with a coupon and got it refunded."""
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    campaign = create_campaign(api, operator, budget=100_000)
    shop_id = campaign["shop_id"]
    push_products(api, store, [RICE])
    template = create_template(api, operator, scope={"categories": ["rice"]}, amount=2000)
    grandson = login(api, "grandson")
    link_shopper(session_factory, shop_id, "grandson")
    give_credit(api, operator, campaign["id"], "grandson", 300)
    claimed = api.post("/v1/coupons/claim", json={"template_id": template["id"]}, headers=grandson)
    assert claimed.status_code == 201, claimed.text
    line = {"sku": "rice-5kg", "quantity": 1, "unit_price": 5900, "category": "rice"}
    cart = {"shopper_id": "grandson", "lines": [line], "use_credit": 100}
    quote = api.post("/v1/store/checkout/quote", json=cart, headers=store).json()
    reserve = {**cart, "order_id": "rice-1", "coupons": quote["coupons"]}
    assert api.post("/v1/store/checkout/reserve", json=reserve, headers=store).is_success
    paid = {"payment_method": "card"}
    assert api.post("/v1/store/orders/rice-1/paid", json=paid, headers=store).is_success
    assert api.post("/v1/store/orders/rice-1/refund", json={}, headers=store).is_success
    return shop_id, operator["Authorization"].removeprefix("Bearer ")


class TestShopperSupport:
    def test_find_look_and_adjust(self, api, session_factory, people, shots):
        shop_id, key = grandsons_order_and_refund(api, session_factory)
        page = people.desk()
        sign_in_console(page, key, then="/admin/shoppers")
        page.get_by_label("Find a shopper").fill("grands")
        page.get_by_role("button", name="Search").click()
        row = page.locator("#shoppers tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("¥3.00")
        check_accessibility(page)
        shots.take(page, "search")

        row.get_by_role("link").click()
        expect(page).to_have_url(re.compile(r"/admin/shoppers/grandson$"))
        expect(page.locator("#shopper-balance")).to_have_text("¥3.00")
        expect(page.locator("#wallet-history .kind")).to_contain_text(
            ["Credit returned (refund)", "Credit held for an order", "Gift from the shop"]
        )
        expect(page.locator("#shopper-coupons")).to_contain_text("Available")  # restored
        expect(page.locator("#shopper-orders")).to_contain_text("rice-1")
        expect(page.locator("#shopper-orders")).to_contain_text("Refunded")
        expect(page.locator("#shopper-refunds")).to_contain_text("¥1.00")  # credit returned
        check_accessibility(page)
        shots.take(page, "shopper")

        # Taking back more than he holds is refused, names the field, moves nothing.
        page.get_by_label("Amount (¥), negative to take back").fill("-3.01")
        page.get_by_label("Reason").fill("duplicate gift")
        page.get_by_role("button", name="Adjust").click()
        expect(page.locator("#form-problem")).to_contain_text("never goes below zero")
        expect(page.get_by_label("Amount (¥), negative to take back")).to_have_attribute(
            "aria-invalid", "true"
        )
        expect(page.locator("#shopper-balance")).to_have_text("¥3.00")
        check_accessibility(page)
        shots.take(page, "refused")

        # A reason is required; then ¥5.50 lands, once, even when the form is sent twice.
        page.get_by_label("Amount (¥), negative to take back").fill("5.50")
        page.get_by_label("Reason").fill("   ")
        page.get_by_role("button", name="Adjust").click()
        expect(page.locator("#form-problem")).to_have_attribute("data-field", "reason_required")
        page.get_by_label("Reason").fill("Parcel arrived late")
        form = {
            name: page.locator(f"#adjust-form input[name={name}]").input_value()
            for name in ("csrf", "form_key", "amount", "reason")
        }
        page.get_by_role("button", name="Adjust").click()
        expect(page.locator("#adjusted")).to_contain_text("¥5.50")
        again = page.request.post("/admin/shoppers/grandson/credit", form=form)
        assert again.ok
        page.reload()
        expect(page.locator("#shopper-balance")).to_have_text("¥8.50")
        expect(page.locator("#adjustments tbody tr")).to_have_count(1)
        expect(page.locator("#adjustments")).to_contain_text("Parcel arrived late")
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "grandson", shop_id) == 850
        shots.take(page, "adjusted")

        page.get_by_role("link", name="中文").click()
        expect(page.get_by_role("heading", name="调整余额")).to_be_visible()
        expect(page.locator("#wallet-history .kind").first).to_have_text("商家调整")
        expect(page.locator("#shopper-orders")).to_contain_text("已退款")
        check_accessibility(page)
        shots.take(page, "shopper-zh")

    def test_a_shopper_the_shop_does_not_know_stays_hidden(self, api, session_factory, people):
        key = shop_key(session_factory, "Other Shop")["Authorization"].removeprefix("Bearer ")
        login(api, "grandma")  # a shopper with nothing at Other Shop
        page = people.desk()
        sign_in_console(page, key, then="/admin/shoppers?q=grandma")
        expect(page.locator("#no-shoppers")).to_be_visible()
        response = page.goto("/admin/shoppers/grandma")
        assert response is not None and response.status == 404
