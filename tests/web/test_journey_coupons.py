"""Journey 1 complete: today's envelope, a coupon from the coupon center, and the deal at its
price after coupon ("Rice 5 kg ¥59, ¥39 after coupon"); the center's refusals are clear."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from kinsave.db import utcnow
from tests.coupons.factories import claim, create_template, push_products
from tests.factories import create_campaign, login, shop_key
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
DAILY = {"kind": "uniform", "min": 88, "max": 88}
PRODUCTS = [
    {"sku": "rice-5kg", "title": "Rice 5 kg", "price": 5900, "category": "rice"},
    {"sku": "oil-5l", "title": "Peanut oil 5 L", "price": 8900, "category": "oil"},
    {"sku": "salt-500g", "title": "Sea salt 500 g", "price": 350, "category": "condiments"},
]


class TestCouponCenterAndDeals:
    def test_claim_envelope_claim_coupon_see_the_deal(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        create_campaign(api, operator, daily_rule=DAILY)
        push_products(api, shop_key(session_factory, role="store"), PRODUCTS)
        rice = create_template(
            api, operator, name="Rice ¥20 off", scope={"categories": ["rice"]}, stock=50
        )

        page = people.phone()
        sign_in(page, "grandma", "Grandma Li")
        page.locator("#claim-daily").click()
        expect(page.locator("#daily-amount")).to_have_text("¥0.88")

        page.get_by_role("link", name="Coupons", exact=True).click()
        card = page.locator(f"#coupon-center li[data-template='{rice['id']}']")
        expect(card).to_contain_text("Rice ¥20 off")
        expect(card).to_contain_text("¥20.00 off")
        expect(card.locator(".stock")).to_have_text("50")
        shots.take(page, "coupon-center")
        check_accessibility(page)
        expect(page.locator("#mine")).to_contain_text("You have no coupons yet")
        page.evaluate("window.ksSamePage = true")  # gone if the page reloads
        card.get_by_role("button", name="Claim").click()
        expect(card.locator(".coupon-status")).to_have_text("Claimed! It is in My coupons.")
        # "My coupons" lists it at once, without a reload.
        expect(page.locator("#my-coupons")).to_contain_text("Rice ¥20 off")
        expect(page.locator("#my-coupons")).to_contain_text("Ready to use")
        expect(page.locator("#mine")).not_to_contain_text("You have no coupons yet")
        assert page.evaluate("window.ksSamePage === true")
        shots.take(page, "coupon-claimed")
        page.reload()
        expect(page.locator("#my-coupons")).to_contain_text("Rice ¥20 off")
        expect(page.locator("#center-empty")).to_be_visible()

        page.get_by_role("link", name="Deals", exact=True).click()
        first = page.locator("#deals li").first
        # Cheapest first after coupon: salt ¥3.50, then rice at ¥39 (¥59 before), then oil.
        expect(page.locator("#deals li").nth(1)).to_contain_text("Rice 5 kg")
        rice_deal = page.locator("#deals li[data-sku='rice-5kg']")
        expect(rice_deal.locator(".deal-price")).to_have_text("¥59.00, ¥39.00 after coupon")
        expect(rice_deal).to_contain_text("you have it")
        expect(first).to_contain_text("Sea salt 500 g")
        shots.take(page, "deals")
        check_accessibility(page)

    def test_sold_out_limit_reached_and_expired(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        create_campaign(api, operator)
        one_left = create_template(api, operator, name="Last one", stock=1)
        once = create_template(api, operator, name="Once each", stock=10)
        soon = (utcnow() + timedelta(seconds=3)).isoformat()
        ending = create_template(
            api, operator, name="Ends soon", stock=10, valid_days=None, valid_until=soon
        )

        page = people.phone()
        sign_in(page, "grandma", "Grandma Li", next_path="/app/coupons")
        expect(page.locator("#coupon-center li")).to_have_count(3)
        # Meanwhile: grandpa takes the last one, grandma claims "once each" on another device.
        claim(api, login(api, "grandpa"), one_left["id"])
        claim(api, login(api, "grandma"), once["id"])
        page.wait_for_timeout(3200)  # and "ends soon" ends

        for template, message in (
            (one_left, "Sold out: every coupon of this kind has been claimed."),
            (once, "Limit reached: you hold as many of these as allowed."),
            (ending, "This coupon has expired."),
        ):
            card = page.locator(f"#coupon-center li[data-template='{template['id']}']")
            card.get_by_role("button", name="Claim").click()
            expect(card.locator(".coupon-status")).to_have_text(message)
            expect(card.get_by_role("button", name="Claim")).to_be_hidden()
        shots.take(page, "refusals")
        check_accessibility(page)

    def test_chinese_coupon_center(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        create_campaign(api, operator)
        create_template(api, operator, name="大米券", stock=5)
        page = people.phone(locale="zh-CN")
        sign_in(page, "nainai", "奶奶", next_path="/app/coupons")
        expect(page.locator("h1")).to_have_text("领券中心")
        page.get_by_role("button", name="领取").click()
        expect(page.locator(".coupon-status")).to_have_text("领取成功！已放入我的券。")
        shots.take(page, "coupon-center-zh")
