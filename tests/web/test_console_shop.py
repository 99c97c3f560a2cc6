"""The console's shop pages: coupon templates, channel policies, webhooks, and the charts."""

import re

import pytest
from playwright.sync_api import expect

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.webhooks import service as webhooks
from tests.coupons.factories import create_template
from tests.web.conftest import check_accessibility
from tests.web.test_console import operator_key, sign_in_console

pytestmark = pytest.mark.browser


class TestConsoleShop:
    def test_campaign_and_coupon_template_and_the_charts(self, api, session_factory, people, shots):
        page = people.desk()
        sign_in_console(page, operator_key(session_factory))
        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Name").fill("Harvest week")
        page.get_by_label("Budget (¥)").fill("2000")
        page.get_by_label("Daily envelope min (¥)").fill("0.20")
        page.get_by_label("Daily envelope max (¥)").fill("0.20")
        page.get_by_role("button", name="Create").click()
        page.wait_for_url(re.compile(r"/admin/campaigns/cmp_\w+$"))
        campaign_url = page.url
        page.get_by_label("Total (¥)").fill("10")
        page.get_by_label("Shares").fill("5")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#burn-chart")).to_have_attribute("data-rendered", "chart")

        page.get_by_role("link", name="Coupon templates").click()
        expect(page.locator("main")).to_contain_text("No coupon templates yet.")
        page.get_by_label("Name").fill("¥20 off rice <i>")
        page.get_by_label("Kind").select_option("amount_off")
        page.get_by_label("Amount off (¥)").fill("20")
        page.get_by_label("Stock", exact=True).fill("100")
        page.get_by_label("Categories").fill("rice")
        check_accessibility(page)
        page.get_by_role("button", name="Create").click()
        row = page.locator("#templates tbody tr").first
        expect(row).to_contain_text("¥20 off rice <i>")
        expect(row.locator(".stock-left")).to_have_text("100")
        expect(row.locator(".status")).to_have_text("Active")
        shots.take(page, "coupon-templates")
        row.get_by_role("button", name=re.compile("^Pause")).click()
        expect(row.locator(".status")).to_have_text("Paused")
        row.get_by_role("button", name=re.compile("^End")).click()
        expect(row.locator(".status")).to_have_text("Ended")
        expect(row.get_by_role("button")).to_have_count(0)
        check_accessibility(page)

        # A bad form keeps what was typed and names the field.
        page.get_by_label("Name").fill("Broken")
        page.get_by_label("Amount off (¥)").fill("twenty")
        page.get_by_label("Stock", exact=True).fill("10")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#form-problem")).to_have_attribute("data-field", "amount")
        expect(page.locator("#form-problem")).to_contain_text("Amount off (¥)")
        expect(page.get_by_label("Amount off (¥)")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Name")).to_have_value("Broken")
        check_accessibility(page)

        # Dates, a stacking group and a claim cap per shopper; an end before the start is named.
        page.get_by_label("Amount off (¥)").fill("5")
        page.get_by_label("Per shopper").fill("3")
        page.get_by_label("Stacking group").fill("festival")
        page.get_by_label("Claimable from").fill("2026-10-01T00:00")
        page.get_by_label("Claimable until").fill("2026-09-01T00:00")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#form-problem")).to_contain_text("Claimable until")
        expect(page.get_by_label("Stacking group")).to_have_value("festival")
        page.get_by_label("Claimable until").fill("2026-10-08T00:00")
        page.get_by_role("button", name="Create").click()
        row = page.locator("#templates tbody tr").first
        expect(row).to_contain_text("Broken")
        expect(row.locator(".group")).to_have_text("festival")
        expect(row.locator(".until")).to_have_text("2026-10-08 00:00")

        page.goto(campaign_url)
        page.get_by_role("link", name="Sharing funnel").click()
        expect(page.locator("#funnel-empty")).to_be_visible()
        expect(page.locator("#funnel-chart")).to_have_attribute("data-rendered", "empty")
        check_accessibility(page)
        shots.take(page, "funnel-empty")

    def test_coupon_templates_paginate(self, api, session_factory, people):
        key = operator_key(session_factory)
        for number in range(22):
            create_template(api, {"Authorization": f"Bearer {key}"}, name=f"Coupon {number}")
        page = people.desk()
        sign_in_console(page, key)
        page.goto("/admin/coupons")
        expect(page.locator("#templates tbody tr")).to_have_count(20)
        page.get_by_role("link", name="Next").click()
        expect(page.locator("#templates tbody tr")).to_have_count(2)

    def test_channel_policy_edit_and_history(self, api, session_factory, people, shots):
        page = people.desk()
        sign_in_console(page, operator_key(session_factory))
        page.get_by_role("link", name="Channels").click()
        expect(page.locator("#channels")).to_contain_text("wechat")
        check_accessibility(page)
        page.get_by_role("link", name="telegram").click()
        expect(page.locator("#policy-version")).to_have_text("0")
        page.get_by_label("Links allowed").uncheck()
        page.get_by_label("Blocked domains (one a line)").fill("shop.example.com")
        page.get_by_label("Note").fill("no store links <for now>")
        page.get_by_role("button", name="Save as a new version").click()
        expect(page.locator("#policy-version")).to_have_text("1")
        expect(page.get_by_label("Links allowed")).not_to_be_checked()
        expect(page.get_by_label("Blocked domains (one a line)")).to_have_value("shop.example.com")
        history = page.locator("#policy-history tbody tr")
        expect(history).to_have_count(2)
        expect(history.first).to_contain_text("no store links <for now>")
        shots.take(page, "channel-policy")
        check_accessibility(page)
        page.get_by_label("Blocked domains (one a line)").fill("not a domain!")
        page.get_by_role("button", name="Save as a new version").click()
        expect(page.locator("#form-problem")).to_be_visible()
        expect(page.locator("#policy-version")).to_have_text("1")

    def test_webhook_secret_once_deliveries_and_resend(self, api, session_factory, people, shots):
        key = operator_key(session_factory)
        page = people.desk()
        sign_in_console(page, key)
        page.get_by_role("link", name="Webhooks").click()
        expect(page.locator("main")).to_contain_text("No endpoints yet.")
        page.get_by_label("URL").fill("http://127.0.0.1:9/hook")
        page.get_by_role("button", name="Create").click()
        secret = page.locator("#webhook-secret")
        expect(secret).to_have_text(re.compile(r"^whsec_"))
        shots.take(page, "webhook-created")
        check_accessibility(page)
        page.goto("/admin/webhooks")
        expect(page.locator("#webhook-secret")).to_have_count(0)  # shown only once
        expect(page.locator("#endpoints")).to_contain_text("http://127.0.0.1:9/hook")

        with unit_of_work(session_factory) as session:
            shop = auth.ensure_shop(session, "Harvest Family Market")
            webhooks.enqueue(session, shop.id, "order.paid", {"order_id": "o-1"})
        page.reload()
        rows = page.locator("#deliveries tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first.locator(".event")).to_have_text("order.paid")
        rows.first.get_by_role("button", name=re.compile("^Re-send")).click()
        expect(rows).to_have_count(2)
        expect(rows.first.locator(".status")).to_have_text("Pending")
        shots.take(page, "webhook-deliveries")
        check_accessibility(page)
