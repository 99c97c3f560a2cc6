"""The newer mini-app pages when the phone says no: copy buttons without the Clipboard API (or
with it refused) select the text and say how to copy it; taps while offline show the offline
state, and the same tap works once the phone is back online."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.coupons.factories import push_products
from tests.factories import create_campaign, funded_shopper, shop_key
from tests.web.conftest import Contexts, check_accessibility, sign_in

pytestmark = pytest.mark.browser
DAILY = {"kind": "uniform", "min": 88, "max": 88}
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}
SELECT_TO_COPY = "Selected: press and hold (or Ctrl+C) to copy."
OFFLINE = "You are offline. We will try again when you are back online."
# Two ways a host's web view refuses: no Clipboard API at all, or a write that is rejected.
NO_CLIPBOARD = "Object.defineProperty(navigator, 'clipboard', {value: undefined});"
REFUSED_CLIPBOARD = (
    "Object.defineProperty(navigator, 'clipboard', {value: {writeText: () =>"
    " Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'))}});"
)
CLIPBOARDS = pytest.mark.parametrize(
    "clipboard", [NO_CLIPBOARD, REFUSED_CLIPBOARD], ids=["none", "refused"]
)


def phone_with(people: Contexts, clipboard: str) -> Page:
    page = people.phone()
    page.context.add_init_script(clipboard)
    return page


def assert_all_selected(page: Page, field_id: str) -> None:
    """The field has the focus and its whole text is selected, ready for a long press."""
    selected = page.evaluate(
        """(id) => {
            const field = document.getElementById(id);
            return document.activeElement === field && field.value.length > 0
                && field.selectionStart === 0 && field.selectionEnd === field.value.length;
        }""",
        field_id,
    )
    assert selected, f"#{field_id} is not focused with all its text selected"


def campaign_with_help_offer(api, operator) -> dict:
    campaign = create_campaign(api, operator, daily_rule=DAILY)
    offer = api.post(
        f"/v1/admin/campaigns/{campaign['id']}/help-offers",
        json={"helpers_needed": 2, "hours": 24, "reward": 500},
        headers=operator,
    )
    assert offer.status_code == 201, offer.text
    return campaign


def start_help_request(page: Page) -> str:
    page.goto("/app/help")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/app/help/\w+$"))
    return page.url


def send_envelope(page: Page) -> str:
    page.goto("/app/send")
    page.get_by_label("Amount (¥)").fill("5")
    page.get_by_label("Shares", exact=True).fill("2")
    page.get_by_role("button", name="Put money in the envelope").click()
    page.wait_for_url(re.compile(r"/app/e/env_\w+$"))
    return page.url


def open_share_sheet(page: Page) -> None:
    page.goto("/app/share?type=deal&id=rice-5kg&title=Northeast%20rice%205%20kg")
    page.get_by_label("WeChat").check()


class TestClipboardFallback:
    @CLIPBOARDS
    def test_share_token_is_selected_with_a_message(
        self, api, session_factory, people, shots, clipboard
    ):
        operator = shop_key(session_factory, "Harvest Family Market")
        create_campaign(api, operator, daily_rule=DAILY)
        push_products(api, shop_key(session_factory, "Harvest Family Market", role="store"), [RICE])
        page = phone_with(people, clipboard)
        sign_in(page, "grandma", "Grandma Li")
        open_share_sheet(page)
        page.get_by_role("button", name="Get what I can share").click()
        expect(page.locator("#share-token")).to_have_value(re.compile("￥"))
        page.get_by_role("button", name="Copy").click()
        expect(page.locator("#copy-status")).to_have_text(SELECT_TO_COPY)
        assert_all_selected(page, "share-token")
        shots.take(page, "share-token-selected")
        check_accessibility(page)

    @CLIPBOARDS
    def test_envelope_link_is_selected_with_a_message(
        self, api, session_factory, people, shots, clipboard
    ):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        page = phone_with(people, clipboard)
        sign_in(page, "grandma", "Grandma Li")
        envelope_url = send_envelope(page)
        link = page.get_by_label("Link to this envelope")
        expect(link).to_have_value(envelope_url)
        page.get_by_role("button", name="Copy link").click()
        expect(page.locator("#copy-status")).to_have_text(SELECT_TO_COPY)
        assert_all_selected(page, "envelope-link")
        shots.take(page, "envelope-link-selected")
        check_accessibility(page)

    @CLIPBOARDS
    def test_help_link_is_selected_with_a_message(self, api, session_factory, people, clipboard):
        campaign_with_help_offer(api, shop_key(session_factory))
        page = phone_with(people, clipboard)
        sign_in(page, "grandma", "Grandma Li")
        request_url = start_help_request(page)
        expect(page.locator("#help-link")).to_have_value(request_url)
        page.get_by_role("button", name="Copy").click()
        expect(page.locator("#copy-status")).to_have_text(SELECT_TO_COPY)
        assert_all_selected(page, "help-link")

    def test_envelope_link_copies_when_the_clipboard_works(self, api, session_factory, people):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        page = people.phone()
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        sign_in(page, "grandma", "Grandma Li")
        envelope_url = send_envelope(page)
        page.get_by_role("button", name="Copy link").click()
        expect(page.locator("#copy-status")).to_have_text("Link copied")
        assert page.evaluate("navigator.clipboard.readText()") == envelope_url


def go_offline_tap_and_recover(page: Page, tap: Callable[[], None], shown_in: str) -> None:
    """Offline: the banner shows and a tap says so; online again: the banner goes and the same
    tap (with the same Idempotency-Key) goes through."""
    page.context.set_offline(True)
    expect(page.locator("#offline")).to_be_visible()
    tap()
    expect(page.locator(shown_in)).to_have_text(OFFLINE)
    page.context.set_offline(False)
    expect(page.locator("#offline")).to_be_hidden()
    tap()


class TestOffline:
    def test_share_sheet(self, api, session_factory, people, shots):
        operator = shop_key(session_factory, "Harvest Family Market")
        create_campaign(api, operator, daily_rule=DAILY)
        push_products(api, shop_key(session_factory, "Harvest Family Market", role="store"), [RICE])
        page = people.phone()
        sign_in(page, "grandma", "Grandma Li")
        open_share_sheet(page)
        share = page.get_by_role("button", name="Get what I can share")
        go_offline_tap_and_recover(page, share.click, "#share-error")
        expect(page.locator("#share-result")).to_be_visible()
        expect(page.locator("#share-error")).to_be_hidden()
        expect(page.locator("#share-token")).to_have_value(re.compile("￥"))
        shots.take(page, "share-after-offline")

    def test_envelope_grab(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        grandma = people.phone()
        sign_in(grandma, "grandma", "Grandma Li")
        envelope_url = send_envelope(grandma)
        mum = people.phone()
        sign_in(mum, "mum", "Mum (Mei)")
        mum.goto(envelope_url)
        grab = mum.get_by_role("button", name="Grab")
        go_offline_tap_and_recover(mum, grab.click, "#notice")
        expect(mum.locator("#my-amount")).to_have_text(re.compile(r"^¥\d+\.\d\d$"))
        expect(mum.locator("#grabs li")).to_have_count(1)  # one grab, though tapped twice
        shots.take(mum, "grabbed-after-offline")

    def test_help_start_and_give(self, api, session_factory, people, shots):
        campaign_with_help_offer(api, shop_key(session_factory))
        grandma = people.phone()
        sign_in(grandma, "grandma", "Grandma Li", next_path="/app/help")
        start = grandma.get_by_role("button", name="Start")
        go_offline_tap_and_recover(grandma, start.click, "[id^=offer-status]")
        grandma.wait_for_url(re.compile(r"/app/help/\w+$"))
        request_url = grandma.url

        mum = people.phone()
        sign_in(mum, "mum", "Mum (Mei)")
        mum.goto(request_url)
        give = mum.get_by_role("button", name="Help")
        go_offline_tap_and_recover(mum, give.click, "#notice")
        expect(mum.locator("#help-thanks")).to_be_visible()
        expect(mum.locator("#help-progress")).to_have_text("1 / 2 helped")
        shots.take(mum, "helped-after-offline")

    def test_circle_shows_the_offline_banner_and_clears_it(self, api, session_factory, people):
        page = people.phone()
        sign_in(page, "grandma", "Grandma Li", next_path="/app/circle")
        page.context.set_offline(True)
        banner = page.locator("#offline")
        expect(banner).to_have_text(OFFLINE)
        expect(banner).to_have_attribute("role", "status")
        check_accessibility(page)
        page.context.set_offline(False)
        expect(banner).to_be_hidden()
