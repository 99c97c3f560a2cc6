"""Journey 4 in Chromium: Grandma asks the family for help; three relatives, each in their own
browser, tap help once; the envelope unlocks into her wallet and they join her family circle."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import create_campaign, shop_key
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
DAILY = {"kind": "uniform", "min": 88, "max": 88}
RELATIVES = {"mum": "Mum (Mei)", "dad": "Dad (Jun)", "xiaoming": "Xiaoming"}


def test_help_request_completed_by_three_relatives(api, session_factory, people, shots):
    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator, daily_rule=DAILY)
    offer = api.post(
        f"/v1/admin/campaigns/{campaign['id']}/help-offers",
        json={"helpers_needed": 3, "hours": 24, "reward": 888},
        headers=operator,
    )
    assert offer.status_code == 201, offer.text

    grandma = people.phone()
    grandma.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(grandma, "grandma", "Grandma Li", next_path="/app/circle")
    expect(grandma.locator("main")).to_contain_text("Nobody yet.")
    grandma.get_by_role("link", name="Ask the family for help").click()
    expect(grandma.locator("#help-offers")).to_contain_text("¥8.88 red envelope")
    expect(grandma.locator("#help-offers")).to_contain_text("3 helpers · 24 hours")
    shots.take(grandma, "help-offers")
    check_accessibility(grandma)
    grandma.get_by_role("button", name="Start").click()
    grandma.wait_for_url(re.compile(r"/app/help/\w+$"))
    expect(grandma.locator("#help-reward")).to_have_text("¥8.88")
    expect(grandma.locator("#help-progress")).to_have_text("0 / 3 helped")
    expect(grandma.locator("#help-time-left")).to_contain_text(re.compile(r"2[34] h"))
    expect(grandma.locator("#give-help")).to_have_count(0)  # not on her own request
    grandma.get_by_role("button", name="Copy").click()
    expect(grandma.locator("#copy-status")).to_have_text("Copied")
    link = grandma.evaluate("navigator.clipboard.readText()")
    assert link.endswith(grandma.url.split("/app/")[1])
    shots.take(grandma, "help-request-started")
    check_accessibility(grandma)

    for count, (user_id, name) in enumerate(RELATIVES.items(), start=1):
        relative = people.phone()
        sign_in(relative, user_id, name)
        relative.goto(link)
        expect(relative.locator("#requester")).to_have_text("Grandma Li")
        relative.evaluate("window.ksSamePage = true")  # gone if the page reloads
        relative.get_by_role("button", name="Help", exact=True).click()
        expect(relative.locator("#help-progress")).to_have_text(f"{count} / 3 helped")
        expect(relative.locator("#help-thanks")).to_be_visible()
        expect(relative.locator("#helpers")).to_contain_text(name)
        assert relative.evaluate("window.ksSamePage === true")
        if count == 1:
            check_accessibility(relative)
        shots.take(relative, f"helped-by-{user_id}")
    expect(relative.locator("#help-unlocked")).to_have_text("Unlocked! Thanks for helping.")

    grandma.reload()
    expect(grandma.locator("#help-unlocked")).to_have_text(
        "Unlocked! The envelope is in your wallet."
    )
    expect(grandma.locator("#helpers li")).to_have_count(3)
    shots.take(grandma, "help-request-unlocked")
    grandma.goto("/app/wallet")
    expect(grandma.locator("#wallet-balances .balance")).to_have_text("¥8.88")
    expect(grandma.locator("#history li").first).to_contain_text("Help request unlocked")

    grandma.goto("/app/circle")
    expect(grandma.locator("#relatives li")).to_have_count(3)
    for name in RELATIVES.values():
        expect(grandma.locator("#relatives")).to_contain_text(name)
    shots.take(grandma, "family-circle")
    check_accessibility(grandma)


def test_help_refusals_are_clear(api, session_factory, people):
    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator, daily_rule=DAILY)
    api.post(
        f"/v1/admin/campaigns/{campaign['id']}/help-offers",
        json={"helpers_needed": 1, "hours": 1, "reward": 100},
        headers=operator,
    )
    grandma = people.phone()
    sign_in(grandma, "grandma", "Grandma Li", next_path="/app/help")
    grandma.get_by_role("button", name="Start").click()
    grandma.wait_for_url(re.compile(r"/app/help/\w+$"))
    # A second tab still on the offers page: a second request for the same offer is refused.
    again = grandma.context.new_page()
    again.goto("/app/help")
    again.get_by_role("button", name="Start").click()
    expect(again.locator(".coupon-status")).to_have_text(
        "You already have an open request for this offer."
    )
    # Two relatives race to the last slot: the second sees the request is already unlocked.
    first, second = people.phone(), people.phone()
    sign_in(first, "mum", "Mum")
    sign_in(second, "dad", "Dad")
    for page in (first, second):
        page.goto(grandma.url)
    first.get_by_role("button", name="Help", exact=True).click()
    expect(first.locator("#help-thanks")).to_be_visible()
    second.get_by_role("button", name="Help", exact=True).click()
    expect(second.locator("#notice")).to_have_text("This request is already unlocked.")
