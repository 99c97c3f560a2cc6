"""Journey 2 in Chromium: Grandma shares the rice deal on WeChat (no store links there), copies
the password token; her grandson pastes it into the demo store, which opens the product with his
coupon; he pays with the coupon and wallet credit; the console's funnel shows the order, Grandma's
reward lands in her wallet, and his refund takes it back."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from kinsave.jobs import release_referral_rewards
from tests.coupons.factories import create_template, push_products
from tests.factories import create_campaign, give_credit
from tests.web.conftest import check_accessibility, sign_in
from tests.web.store_signin import sign_in_to_store
from tests.web.test_console import sign_in_console

pytestmark = pytest.mark.browser
DAILY = {"kind": "uniform", "min": 88, "max": 88}
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}


def test_share_token_store_checkout_funnel_reward_refund(
    api, session_factory, people, shots, store_keys, demo_store
):
    operator, store = store_keys["operator"], store_keys["store"]
    campaign = create_campaign(api, operator, budget=100_000, daily_rule=DAILY)
    setup = {"referral": {"amount": 500, "hold_seconds": 0}}
    put = api.put(f"/v1/admin/campaigns/{campaign['id']}/sharing", json=setup, headers=operator)
    assert put.status_code == 200, put.text
    push_products(api, store, [RICE])
    template = create_template(api, operator, name="¥20 off rice", scope={"categories": ["rice"]})

    # Grandma shares the deal from the mini app on WeChat: no link, a password token to copy.
    grandma = people.phone()
    grandma.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(grandma, "grandma", "Grandma Li", next_path="/app/deals")
    grandma.locator("#deals li[data-sku='rice-5kg']").get_by_role("link", name="Share").click()
    grandma.wait_for_url(re.compile(r"/app/share\?"))
    expect(grandma.locator("#share-what")).to_have_text("Northeast rice 5 kg")
    grandma.get_by_label("WeChat").check()
    grandma.get_by_role("button", name="Get what I can share").click()
    expect(grandma.locator("#share-result")).to_be_visible()
    expect(grandma.locator("#share-link-box")).to_be_hidden()
    expect(grandma.locator("#share-no-link")).to_be_visible()
    grandma.get_by_role("button", name="Copy").click()
    expect(grandma.locator("#copy-status")).to_have_text("Copied")
    copied = grandma.evaluate("navigator.clipboard.readText()")
    assert copied == grandma.locator("#share-token").input_value() and "￥" in copied
    shots.take(grandma, "share-sheet-wechat")
    check_accessibility(grandma)

    # The web channel allows a link and a QR code as well.
    grandma.get_by_label("Web", exact=True).check()
    grandma.get_by_role("button", name="Get what I can share").click()
    expect(grandma.locator("#share-link")).to_have_text(re.compile(r"^http://.+/s/\w+"))
    shots.take(grandma, "share-sheet-web")

    # The grandson holds the rice coupon (claimed in the mini app) and some wallet credit.
    grandson_app = people.phone()
    sign_in(grandson_app, "grandson", "Grandson", next_path="/app/coupons")
    grandson_app.locator(f"#coupon-center li[data-template='{template['id']}']").get_by_role(
        "button", name="Claim"
    ).click()
    expect(grandson_app.locator(".coupon-status")).to_have_text("Claimed! It is in My coupons.")
    give_credit(api, operator, campaign["id"], "grandson", 300)

    # He signs in to the store through the mini app (用亲友省钱购登录), which links the store.
    shop = people.desk()
    sign_in_to_store(shop, demo_store, "grandson", "Grandson")
    shop.goto(demo_store + "/")
    shop.get_by_label(re.compile("password token")).fill(f"{copied} (from the family group)")
    shots.take(shop, "store-token-box")
    check_accessibility(shop)
    shop.get_by_role("button", name="Open").click()
    shop.wait_for_url(re.compile(r"/store/p/rice-5kg\?share=\w{11}$"))
    expect(shop.locator("#shared-note")).to_be_visible()
    expect(shop.locator("#your-price")).to_contain_text("¥39.00")
    expect(shop.locator("#your-price")).to_contain_text("¥20 off rice")
    shots.take(shop, "store-product-with-coupon")
    check_accessibility(shop)
    shop.get_by_role("button", name="Add to cart").click()
    shop.get_by_label(re.compile("Wallet credit")).fill("3")
    shop.get_by_role("button", name="Check out").click()
    expect(shop.locator("#discount")).to_have_text("-¥20.00")
    expect(shop.locator("#credit")).to_have_text("-¥3.00")
    expect(shop.locator("#to-pay")).to_have_text("¥36.00")
    # He came from a WeChat share: the store offers only what that host allows (WeChat Pay).
    expect(shop.locator("#pay-with input")).to_have_count(1)
    expect(shop.get_by_label("WeChat Pay")).to_be_checked()
    shots.take(shop, "store-checkout")
    check_accessibility(shop)
    shop.get_by_role("button", name=re.compile("^Pay")).click()
    shop.wait_for_url(re.compile(r"/store/orders$"))
    order = shop.locator("#orders li").first
    expect(order).to_contain_text("paid ¥36.00 (saved ¥20.00, credit ¥3.00)")
    expect(order.locator(".status")).to_have_text("paid")
    shots.take(shop, "store-my-orders")
    check_accessibility(shop)

    # The reward is held for the refund period (0 s here), then paid by the job.
    assert release_referral_rewards(session_factory).paid_amount == 500
    grandma.goto("/app/wallet")
    expect(grandma.locator("#wallet-balances .balance")).to_have_text("¥5.00")
    expect(grandma.locator("#history li").first).to_contain_text("+¥5.00")
    shots.take(grandma, "wallet-reward")

    # The operator sees the order in the campaign's funnel, as a table, a chart and a CSV.
    console = people.desk()
    sign_in_console(console, operator["Authorization"].removeprefix("Bearer "))
    console.goto(f"/admin/campaigns/{campaign['id']}")
    console.get_by_role("link", name="Sharing funnel").click()
    wechat = console.locator("#funnel tr[data-channel='wechat']")
    expect(wechat.locator(".orders")).to_have_text("1")
    expect(wechat.locator(".sales")).to_have_text("¥36.00")
    expect(wechat.locator(".reward")).to_have_text("¥5.00")
    chart = console.locator("#funnel-chart")
    expect(chart).to_have_attribute("data-rendered", "chart")
    expect(chart.locator("canvas")).to_have_count(1)
    shots.take(console, "console-funnel")
    check_accessibility(console)
    with console.expect_download() as download:
        console.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert {(r["channel"], r["orders"]) for r in rows} >= {("wechat", "1")}

    # The grandson refunds in the store: his credit comes back, Grandma's reward goes.
    shop.get_by_role("button", name="Refund").click()
    expect(order.locator(".status")).to_have_text("refunded")
    expect(order).to_contain_text("refunded ¥36.00, credit back ¥3.00")
    shots.take(shop, "store-refunded")
    grandma.reload()
    expect(grandma.locator("#wallet-balances .balance")).to_have_text("¥0.00")
