"""Journey 3: Grandma sends a lucky envelope, three relatives grab it in their own browsers, the
page shows who got what and the luckiest, and after expiry the remainder returns to her wallet."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from kinsave.db import utcnow
from kinsave.jobs import expire_envelopes
from tests.factories import create_campaign, funded_shopper, shop_key, wallet_balance
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
RELATIVES = {"mum": "Mum (Mei)", "dad": "Dad (Jun)", "xiaoming": "Xiaoming"}


def yuan(amount: int) -> str:
    return f"¥{amount // 100}.{amount % 100:02d}"


class TestLuckyEnvelope:
    def test_send_grab_luckiest_expire_refund(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma_api = funded_shopper(api, operator, campaign["id"], "grandma", 5000)

        grandma = people.phone()
        sign_in(grandma, "grandma", "Grandma Li", next_path="/app/send")
        expect(grandma.locator("#wallet-balances .balance")).to_have_text("¥50.00")
        grandma.get_by_label("Amount (¥)").fill("10")
        grandma.get_by_label("Shares", exact=True).fill("5")
        grandma.get_by_label("Message", exact=True).fill("For the family <3")
        shots.take(grandma, "send-form")
        check_accessibility(grandma)
        grandma.get_by_role("button", name="Put money in the envelope").click()
        grandma.wait_for_url(re.compile(r"/app/e/env_\w+$"))
        envelope_url = grandma.url
        expect(grandma.locator(".message")).to_have_text("“For the family <3”")
        expect(grandma.locator("#grabbed-count")).to_contain_text("0 of 5 shares")
        shots.take(grandma, "envelope-sent")

        got: dict[str, int] = {}
        for count, (user_id, name) in enumerate(RELATIVES.items(), start=1):
            relative = people.phone()
            sign_in(relative, user_id, name)
            relative.goto(envelope_url)
            relative.evaluate("window.ksSamePage = true")  # gone if the page reloads
            relative.get_by_role("button", name="Grab").click()
            # The count and the list include the grab at once, without a reload.
            expect(relative.locator("#grabbed-count")).to_contain_text(f"{count} of 5 shares")
            expect(relative.locator("#grabs")).to_contain_text(name)
            mine = relative.locator("#my-amount")
            expect(mine).to_have_text(re.compile(r"^¥\d+\.\d\d$"))
            got[user_id] = int(mine.inner_text().replace("¥", "").replace(".", ""))
            assert relative.evaluate("window.ksSamePage === true")
            shots.take(relative, f"grabbed-{user_id}")
        check_accessibility(relative)

        grandma.reload()
        expect(grandma.locator("#grabs li")).to_have_count(3)
        for user_id, name in RELATIVES.items():
            row = grandma.locator("#grabs li", has_text=name)
            expect(row.locator(".amount")).to_have_text(yuan(got[user_id]))
        view = api.get(f"/v1/envelopes/{envelope_url.rsplit('/', 1)[1]}", headers=grandma_api)
        luckiest = RELATIVES[view.json()["luckiest_shopper_id"]]
        assert got[view.json()["luckiest_shopper_id"]] == max(got.values())
        expect(grandma.locator("#grabs li.luckiest .who")).to_have_text(luckiest)
        expect(grandma.locator("#luckiest")).to_have_text("Luckiest so far")
        remaining = 1000 - sum(got.values())
        expect(grandma.locator("#remaining")).to_have_text(yuan(remaining))
        shots.take(grandma, "envelope-three-grabs")

        report = expire_envelopes(session_factory, now=utcnow() + timedelta(days=2))
        assert report.refunded_amount == remaining
        grandma.reload()
        expect(grandma.locator("#state-expired")).to_have_text("This envelope has expired.")
        expect(grandma.locator("#refunded")).to_have_text(yuan(remaining))
        expect(grandma.locator("#luckiest")).to_have_text("Luckiest")
        shots.take(grandma, "envelope-expired")

        latecomer = people.phone()
        sign_in(latecomer, "xiaohong", "Xiaohong")
        latecomer.goto(envelope_url)
        expect(latecomer.locator("#state-expired")).to_be_visible()
        expect(latecomer.get_by_role("button", name="Grab")).to_have_count(0)
        shots.take(latecomer, "latecomer-expired")

        grandma.goto("/app/wallet")
        expect(grandma.locator("#wallet-balances .balance")).to_have_text(
            yuan(5000 - 1000 + remaining)
        )
        expect(grandma.locator("#history li").first).to_contain_text("Envelope remainder returned")
        shots.take(grandma, "wallet-refund")
        assert wallet_balance(api, grandma_api) == 5000 - 1000 + remaining

    def test_grabbing_twice_shows_the_share_already_grabbed(self, api, session_factory, people):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma_api = funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        sent = api.post("/v1/envelopes", json={"total": 300, "shares": 3}, headers=grandma_api)
        url = f"/app/e/{sent.json()['id']}"
        first, second = people.phone(), people.phone()
        for page in (first, second):
            sign_in(page, "mum", "Mum (Mei)")
            page.goto(url)
        first.get_by_role("button", name="Grab").click()
        expect(first.locator("#my-amount")).to_be_visible()
        second.get_by_role("button", name="Grab").click()  # the stale tab of the same person
        expect(second.locator("#notice")).to_have_text("You already grabbed this envelope.")
        expect(second.locator("#my-amount")).to_be_visible()  # reloads into the grabbed state

    def test_the_last_share_says_all_grabbed(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma_api = funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        sent = api.post("/v1/envelopes", json={"total": 200, "shares": 1}, headers=grandma_api)
        url = f"/app/e/{sent.json()['id']}"
        mum = people.phone(locale="zh-CN")
        sign_in(mum, "mum", "Mum (Mei)")
        mum.goto(url)
        expect(mum.locator("#envelope-status")).to_have_text("可领取")
        expect(mum.locator("#envelope-grabs")).to_contain_text("还没有人领取")
        mum.evaluate("window.ksSamePage = true")
        mum.get_by_role("button", name="抢").click()
        expect(mum.locator("#envelope-status")).to_have_text("已抢完")
        expect(mum.locator("#grabbed-count")).to_contain_text("1 / 1")
        expect(mum.locator("#grabs")).to_contain_text("Mum (Mei)")
        expect(mum.locator("#my-amount")).to_have_text("¥2.00")
        assert mum.evaluate("window.ksSamePage === true")
        shots.take(mum, "last-share-all-grabbed")
        check_accessibility(mum)

    def test_the_send_form_names_its_limits(self, api, session_factory, people, shots):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        funded_shopper(api, operator, campaign["id"], "grandma", 50_000)
        page = people.phone(locale="zh-CN")
        sign_in(page, "grandma", "Grandma Li", next_path="/app/send")
        limits = "最多 ¥200.00，1–100 个，每个至少 ¥0.01。"
        expect(page.locator("#send-limits")).to_have_text(limits)
        for total, shares in (("300", "5"), ("10", "101"), ("0.03", "5")):
            page.locator("#total").fill(total)
            page.locator("#shares").fill(shares)
            page.get_by_role("button", name="塞钱进红包").click()
            expect(page.locator("#send-error")).to_have_text(limits)
        shots.take(page, "send-limits")
        check_accessibility(page)
        assert page.url.endswith("/app/send")  # nothing was sent

    def test_not_enough_money_and_unknown_envelope(self, api, people, shots):
        page = people.phone()
        sign_in(page, "poor", "Poor Relative", next_path="/app/send")
        page.get_by_label("Amount (¥)").fill("10")
        page.get_by_role("button", name="Put money in the envelope").click()
        expect(page.locator("#send-error")).to_have_text("Not enough money in your wallet.")
        shots.take(page, "send-insufficient")
        response = page.goto("/app/e/env_doesnotexist")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("We could not find that.")
