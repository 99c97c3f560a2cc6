"""The console's group deals in Chromium: create one from the form, watch it, pause it."""

import pytest
from playwright.sync_api import expect

from tests.coupons.factories import RICE_PRODUCTS, push_products
from tests.factories import shop_key
from tests.web.conftest import check_accessibility
from tests.web.test_console import sign_in_console

pytestmark = pytest.mark.browser


def test_create_watch_and_pause_a_group_deal(api, session_factory, people, shots):
    operator = shop_key(session_factory)
    push_products(api, shop_key(session_factory, role="store"), RICE_PRODUCTS)
    page = people.desk()
    sign_in_console(page, operator["Authorization"].removeprefix("Bearer "))
    page.get_by_role("link", name="Group deals").click()
    expect(page.locator("main")).to_contain_text("No group deals yet.")
    page.get_by_label("Product SKU").fill("rice-5kg")
    page.get_by_label("Group price (yuan)").fill("39.90")
    page.get_by_label("Group size").fill("3")
    page.get_by_label("Units in stock").fill("30")
    page.get_by_role("button", name="Create group deal").click()
    row = page.locator("#group-deals tbody tr").first
    expect(row).to_contain_text("Rice 5 kg")
    expect(row.locator(".units-left")).to_have_text("30 / 30")
    expect(row.locator(".conversion")).to_have_text("0%")
    shots.take(page, "console-group-deals")
    check_accessibility(page)
    row.get_by_role("button", name="Pause").click()
    expect(page.locator("#group-deals tbody tr").first.locator(".status")).to_have_attribute(
        "data-status", "paused"
    )

    page.get_by_label("Product SKU").fill("rice-5kg")
    page.get_by_label("Group price (yuan)").fill("59.00")  # not below the catalog price
    page.get_by_label("Group size").fill("3")
    page.get_by_label("Units in stock").fill("30")
    page.get_by_role("button", name="Create group deal").click()
    expect(page.locator("#form-problem")).to_be_visible()
    expect(page.locator("#group-deals tbody tr")).to_have_count(1)
