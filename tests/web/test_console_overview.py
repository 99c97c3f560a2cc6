"""The console's home is the shop overview: on the demo's data every measure has something to
show, the budget chart is drawn on the server and never dips below zero, in both languages."""

import re

import pytest
from playwright.sync_api import expect

from kinsave import demo
from kinsave.db import unit_of_work
from tests.web.conftest import check_accessibility
from tests.web.test_console import sign_in_console

pytestmark = pytest.mark.browser
MONEY = re.compile(r"^¥[\d,]+\.\d\d$")


def demo_operator_key(session_factory, settings) -> str:
    with unit_of_work(session_factory) as session:
        return demo.seed(session, settings).operator_key


class TestShopOverview:
    def test_the_demo_shop_at_a_glance(self, api, session_factory, settings, people, shots):
        key = demo_operator_key(session_factory, settings)
        page = people.desk()
        sign_in_console(page, key, then="/admin")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator(".top nav a[aria-current=page]")).to_have_text("Overview")
        month = {
            name: page.locator(f"#metric-{name} td").nth(2).inner_text()
            for name in (
                "claims",
                "budget_burn",
                "attributed_sales",
                "coupon_cost",
                "credit_issued",
                "credit_redeemed",
                "return_on_spend",
            )
        }
        assert int(month["claims"]) > 100  # two weeks of daily envelopes, grabs, coupons
        for name in ("budget_burn", "attributed_sales", "coupon_cost", "credit_issued"):
            assert MONEY.match(month[name]) and month[name] != "¥0.00", (name, month)
        assert month["credit_redeemed"] == "¥3.00"  # three orders paid ¥1.00 of credit each
        assert re.fullmatch(r"\d+\.\d\d×", month["return_on_spend"]), month

        chart = page.locator("#overview-chart")
        expect(chart.locator("circle.remaining-point")).to_have_count(30)
        expect(chart.locator("rect.bar-burn")).to_have_count(30)
        heights = chart.locator("rect.bar-burn").evaluate_all(
            "bars => bars.map(b => Number(b.getAttribute('height')))"
        )
        assert sum(1 for h in heights if h > 0) >= 14  # the seeded fortnight
        page.get_by_text("The numbers by day").click()
        remaining = page.locator("#overview-days td.remaining").all_inner_texts()
        assert len(remaining) == 30 and not any(text.startswith("-") for text in remaining)
        assert remaining[0] != "¥0.00"  # today: the budget the shop still has
        check_accessibility(page)
        shots.take(page, "overview-en")

        page.get_by_role("link", name="中文").click()
        expect(page.get_by_role("heading", name="概览")).to_be_visible()
        expect(page.locator("#metric-credit_redeemed td").nth(2)).to_have_text("¥3.00")
        expect(page.locator("#overview thead")).to_contain_text("近 30 天")
        check_accessibility(page)
        shots.take(page, "overview-zh")

    def test_a_new_shop_shows_zeros_not_errors(self, api, session_factory, people, shots):
        from tests.web.test_console import operator_key

        page = people.desk()
        sign_in_console(page, operator_key(session_factory, "Empty Shop"), then="/admin")
        expect(page.locator("#metric-claims td").first).to_have_text("0")
        expect(page.locator("#metric-return_on_spend td").first).to_have_text("—")
        expect(page.locator("#overview-chart circle.remaining-point")).to_have_count(30)
        shots.take(page, "overview-empty")
