"""The demo store signs shoppers in through kinsave ("用亲友省钱购登录"): the round trip through
the mini app's consent page, refusing there, and unlinking in the mini app, after which the store
is refused (`shopper_not_linked`) and signs the shopper out."""

import re

import pytest
from playwright.sync_api import expect

from tests.coupons.factories import push_products
from tests.factories import create_campaign, give_credit, login
from tests.web.conftest import check_accessibility
from tests.web.store_signin import AGREE, SIGN_IN_WITH_KINSAVE, sign_in_to_store

pytestmark = pytest.mark.browser
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}


def test_sign_in_round_trip_then_unlink_stops_the_store(api, people, shots, store_keys, demo_store):
    operator, store = store_keys["operator"], store_keys["store"]
    push_products(api, store, [RICE])
    campaign = create_campaign(api, operator)
    login(api, "grandma")
    give_credit(api, operator, campaign["id"], "grandma", 500)

    page = people.phone()
    page.goto(demo_store + "/signin")
    shots.take(page, "store-signin")
    check_accessibility(page)
    page.get_by_role("button", name=SIGN_IN_WITH_KINSAVE).click()
    page.wait_for_url(re.compile(r"/app/login\?next=/app/link/lr_"))  # sign in to kinsave first
    page.get_by_label("Your id").fill("grandma")
    page.get_by_label("Your name").fill("Grandma Li")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/app/link/lr_[\w-]+$"))
    expect(page.locator("#link-shop-name")).to_have_text("Harvest Family Market")
    expect(page.locator("#link-return")).to_have_text(re.compile(r"^127\.0\.0\.1:\d+$"))
    shots.take(page, "mini-app-consent")
    check_accessibility(page)
    page.get_by_role("button", name=AGREE).click()
    page.wait_for_url(demo_store + "/cart")
    expect(page.locator("#signed-in")).to_contain_text("grandma")

    page.goto(demo_store + "/p/rice-5kg")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#wallet-credit")).to_have_text("Your wallet credit here: ¥5.00")
    page.get_by_role("button", name="Check out").click()
    expect(page.locator("#to-pay")).to_have_text("¥59.00")
    # A visit straight to the store is the web channel: card, Alipay and WeChat Pay.
    expect(page.locator("#pay-with input")).to_have_count(3)
    shots.take(page, "store-checkout-signed-in")

    # Grandma unlinks the store in the mini app.
    page.goto("/app/wallet")
    page.get_by_role("link", name="Linked stores").click()
    row = page.locator("#links li")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Harvest Family Market")
    shots.take(page, "mini-app-linked-stores")
    check_accessibility(page)
    row.get_by_role("button", name=re.compile("Unlink")).click()
    expect(page.locator("#links-status")).to_have_text(re.compile("^Unlinked"))
    expect(page.locator("#links-empty")).to_be_visible()
    shots.take(page, "mini-app-unlinked")

    # The store is refused from now on (shopper_not_linked): it signs her out and says why.
    page.goto(demo_store + "/cart")
    page.get_by_role("button", name="Check out").click()
    page.wait_for_url(re.compile(r"/store/signin\?error=unlinked"))
    expect(page.get_by_role("alert")).to_have_text(re.compile("You unlinked this store"))
    expect(page.locator("#signed-in")).to_have_count(0)
    shots.take(page, "store-refused-after-unlink")


def test_refusing_in_the_mini_app_signs_nobody_in(api, people, shots, demo_store):
    page = people.phone(locale="zh-CN")
    page.goto(demo_store + "/signin")
    page.get_by_role("button", name="用亲友省钱购登录").click()
    page.get_by_label(re.compile("账号")).fill("grandpa")
    page.get_by_role("button", name=re.compile("登录")).click()
    page.wait_for_url(re.compile(r"/app/link/lr_"))
    page.get_by_role("button", name="暂不").click()
    page.wait_for_url(re.compile(r"/store/signin\?error=access_denied$"))
    expect(page.locator("#signin-error")).to_be_visible()
    expect(page.locator("#signed-in")).to_have_count(0)
    shots.take(page, "store-signin-refused-zh")


def test_the_helper_signs_a_family_member_in(api, people, demo_store):
    page = people.desk()
    sign_in_to_store(page, demo_store, "xiaoming", "Xiaoming", next_path="/orders")
    assert page.url == demo_store + "/orders"
