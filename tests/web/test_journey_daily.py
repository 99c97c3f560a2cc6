"""Journey 1, the part that exists: Grandma opens today's envelope and sees it in her wallet."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import create_campaign, shop_key
from tests.web.conftest import check_accessibility, sign_in, tab_to

pytestmark = pytest.mark.browser
DAILY = {"kind": "uniform", "min": 88, "max": 88}


class TestDailyEnvelope:
    def test_claim_and_see_it_in_the_wallet(self, api, session_factory, people, shots):
        create_campaign(api, shop_key(session_factory), daily_rule=DAILY)
        page = people.phone()
        sign_in(page, "grandma", "Grandma Li")
        expect(page.locator("#wallet-balances .balance")).to_have_text("¥0.00")
        shots.take(page, "home-unopened")
        check_accessibility(page)

        # Keyboard only: Tab to the envelope, open it with Enter.
        tab_to(page, "#claim-daily")
        page.keyboard.press("Enter")
        expect(page.locator("#daily-amount")).to_have_text("¥0.88")
        expect(page.locator("#wallet-balances .balance")).to_have_text("¥0.88")
        expect(page.locator("#daily-envelope")).to_have_class(re.compile("opening"))
        page.wait_for_timeout(1000)  # let the opening animation finish for the screenshot
        shots.take(page, "home-opened")

        page.reload()
        expect(page.locator("#daily-envelope")).to_contain_text("You opened today's envelope")
        expect(page.locator("#claim-daily")).to_have_count(0)
        shots.take(page, "home-already-claimed")

        page.get_by_role("link", name="Wallet").click()
        expect(page.locator("#wallet-balances .balance")).to_have_text("¥0.88")
        entry = page.locator("#history li").first
        expect(entry).to_contain_text("Daily red envelope")
        expect(entry).to_contain_text("+¥0.88")
        shots.take(page, "wallet")
        check_accessibility(page)

    def test_a_second_claim_the_same_day_is_refused_clearly(self, api, session_factory, people):
        create_campaign(api, shop_key(session_factory), daily_rule=DAILY)
        first, second = people.phone(), people.phone()
        for page in (first, second):
            sign_in(page, "grandma", "Grandma Li")
        first.locator("#claim-daily").click()
        expect(first.locator("#daily-amount")).to_have_text("¥0.88")
        # The second tab still shows the unopened envelope: its tap gets the clear refusal.
        second.locator("#claim-daily").click()
        expect(second.locator("#notice")).to_have_text("You opened today's envelope already.")
        expect(second.locator("#wallet-balances .balance")).to_have_text("¥0.00")

    def test_no_campaign_running_and_an_empty_wallet(self, api, people, shots):
        page = people.phone()
        sign_in(page, "grandpa", "Grandpa Li")
        expect(page.locator(".daily")).to_contain_text("No daily envelope is running right now.")
        page.goto("/app/wallet")
        expect(page.locator("main")).to_contain_text("Nothing here yet")
        shots.take(page, "wallet-empty")

    def test_offline_tap_shows_the_offline_state(self, api, session_factory, people, shots):
        create_campaign(api, shop_key(session_factory), daily_rule=DAILY)
        page = people.phone()
        sign_in(page, "grandma", "Grandma Li")
        page.context.set_offline(True)
        expect(page.locator("#offline")).to_be_visible()
        page.locator("#claim-daily").click()
        expect(page.locator("#notice")).to_contain_text("You are offline")
        shots.take(page, "offline")
        page.context.set_offline(False)
        expect(page.locator("#offline")).to_be_hidden()
        page.locator("#claim-daily").click()  # the retry reuses the same Idempotency-Key
        expect(page.locator("#daily-amount")).to_have_text("¥0.88")


class TestLanguage:
    def test_chinese_from_the_browser_and_switch_to_english(self, api, people, shots):
        page = people.phone(locale="zh-CN")
        page.goto("/app/login")
        expect(page.locator("h1")).to_have_text("登录")
        sign_in(page, "nainai", "奶奶")
        expect(page.locator(".top .brand")).to_have_text("亲友省钱购")
        shots.take(page, "home-zh")
        page.get_by_role("link", name="English").click()
        expect(page.locator(".top .brand")).to_have_text("Relatives & Friends Save")
        page.goto("/app/wallet")  # the choice sticks (a cookie)
        expect(page.locator("h1")).to_have_text("My wallet")
