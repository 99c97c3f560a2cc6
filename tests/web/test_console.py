"""The operator console: sign in with a key, create a campaign, watch its budget burn chart."""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import create_campaign, login, shop_key
from tests.web.conftest import check_accessibility

pytestmark = pytest.mark.browser


def operator_key(session_factory, shop: str = "Harvest Family Market") -> str:
    return shop_key(session_factory, shop)["Authorization"].removeprefix("Bearer ")


def sign_in_console(page: Page, key: str, *, then: str = "/admin/campaigns") -> None:
    """Sign in (the console opens on the shop overview), then go to `then`."""
    page.goto("/admin/login")
    page.get_by_label("Operator API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin$"))
    if then != "/admin":
        page.goto(then)


class TestConsole:
    def test_create_campaign_and_see_the_burn_chart(self, api, session_factory, people, shots):
        page = people.desk()
        page.goto("/admin/login")
        check_accessibility(page)
        sign_in_console(page, operator_key(session_factory))
        expect(page.locator("main")).to_contain_text("No campaigns yet")
        shots.take(page, "campaigns-empty")

        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Name").fill("Double Eleven <b>rice</b>")
        page.get_by_label("Budget (¥)").fill("5000")
        page.get_by_label("Daily envelope min (¥)").fill("0.10")
        page.get_by_label("Daily envelope max (¥)").fill("0.5")
        check_accessibility(page)
        shots.take(page, "campaign-form")
        page.get_by_role("button", name="Create").click()
        page.wait_for_url(re.compile(r"/admin/campaigns/cmp_\w+$"))
        expect(page.locator("#campaign-name")).to_have_text("Double Eleven <b>rice</b>")
        expect(page.locator("#budget-remaining")).to_have_text("¥5,000.00")

        # A shop envelope from the budget makes the burn move.
        page.get_by_label("Total (¥)").fill("88")
        page.get_by_label("Shares").fill("20")
        page.get_by_label("Message").fill("Harvest thanks you")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("table.envelopes")).to_contain_text("Harvest thanks you")
        expect(page.locator("#budget-spent")).to_have_text("¥88.00")
        chart = page.locator("#burn-chart")
        expect(chart).to_have_attribute("data-rendered", "chart")
        expect(chart.locator("canvas")).to_have_count(1)
        expect(chart.locator(".u-legend")).to_contain_text("Spent to date")
        shots.take(page, "campaign-detail-chart")
        check_accessibility(page)

        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
        assert rows[0] == ["day", "funded_fen", "spent_fen", "spent_to_date_fen", "remaining_fen"]
        assert rows[-1][1:] == ["500000", "8800", "8800", "491200"]

        page.get_by_role("button", name="Pause").click()
        expect(page.locator("#campaign-status")).to_have_text("Paused")
        page.get_by_role("button", name="Resume").click()
        expect(page.locator("#campaign-status")).to_have_text("Active")

        page.get_by_role("link", name="Campaigns").click()
        expect(page.locator("#campaigns tbody tr")).to_have_count(1)
        check_accessibility(page)

    def test_tables_paginate(self, api, session_factory, people, shots):
        key = operator_key(session_factory)
        for number in range(23):
            create_campaign(api, {"Authorization": f"Bearer {key}"}, name=f"Campaign {number}")
        page = people.desk()
        sign_in_console(page, key)
        expect(page.locator("#campaigns tbody tr")).to_have_count(20)
        page.get_by_role("link", name="Next").click()
        expect(page.locator("#campaigns tbody tr")).to_have_count(3)
        expect(page.get_by_role("link", name="Next")).to_have_count(0)
        shots.take(page, "campaigns-page-2")
        page.get_by_role("link", name="Previous").click()
        expect(page.locator("#campaigns tbody tr")).to_have_count(20)

    def test_a_bad_key_is_refused_and_a_shopper_token_is_no_key(self, api, people):
        page = people.desk()
        page.goto("/admin/login")
        token = login(api, "grandma")["Authorization"].removeprefix("Bearer ")
        page.get_by_label("Operator API key").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("[role=alert]")).to_contain_text("unknown, revoked")
        page.goto("/admin/campaigns")
        expect(page).to_have_url(re.compile(r"/admin/login$"))

    def test_another_shops_campaign_is_not_found(self, api, session_factory, people):
        other = create_campaign(api, shop_key(session_factory, "Other Shop"))
        page = people.desk()
        sign_in_console(page, operator_key(session_factory))
        response = page.goto(f"/admin/campaigns/{other['id']}")
        assert response is not None and response.status == 404
        assert page.request.get(f"/admin/campaigns/{other['id']}/burn.csv").status == 404
