"""Journey 2 with the coupon travelling in the share, in Chromium: Grandma shares the rice deal on
WeChat (the host blocks the store's domain: a token and the mini-app QR, no link); her grandson,
who never opened the coupon centre, signs into the store and pastes the token; the store lands
him on the rice page with the family's coupon claimed; he pays ¥39 minus the credit he chose;
the order is attributed to Grandma's share and her referral reward is held.

And every way into the store (the short link, the QR code's content, the pasted token) lands on
the store's registered product page; a share the store no longer offers says so in a sentence.
"""

import re
from typing import Any

import pytest
from kinsave_demo_store.catalog import catalog_payload, landing_templates
from playwright.sync_api import expect

from kinsave.db import unit_of_work, utcnow
from kinsave.sharing import landing as sharing_landing
from kinsave.sharing.models import ReferralReward
from tests.coupons.factories import create_template, push_products
from tests.factories import Headers, create_campaign, give_credit, login
from tests.web.conftest import check_accessibility, sign_in
from tests.web.store_signin import sign_in_to_store

pytestmark = pytest.mark.browser
DAILY = {"kind": "uniform", "min": 88, "max": 88}
REFERRAL = {"referral": {"amount": 300}}  # held for the default refund period (7 days)


def open_shop(api: Any, store_keys: dict[str, Headers], store_url: str) -> dict[str, Any]:  # noqa: F811
    """What the store and the operator set up: the store's catalog and landing pages (pushed as
    the store pushes them), a campaign paying a referral reward, the ¥20 off rice coupon."""
    operator, store = store_keys["operator"], store_keys["store"]
    push_products(api, store, catalog_payload())
    landing = api.put("/v1/store/landing", json=landing_templates(store_url), headers=store)
    assert landing.status_code == 200, landing.text
    # The mini app shares under the running daily-envelope campaign.
    campaign = create_campaign(api, operator, budget=100_000, daily_rule=DAILY)
    setup = api.put(
        f"/v1/admin/campaigns/{campaign['id']}/sharing", json=REFERRAL, headers=operator
    )
    assert setup.status_code == 200, setup.text
    template = create_template(
        api, operator, name="¥20 off rice", scope={"categories": ["rice"]}, stacking_group="rice"
    )
    return {"campaign": campaign, "template": template}


def test_grandson_pays_39_minus_credit_with_the_coupon_from_the_share(
    api,
    session_factory,
    people,
    shots,
    store_keys,  # noqa: F811
    demo_store,  # noqa: F811
):
    shop = open_shop(api, store_keys, demo_store)

    # Grandma shares the rice deal on WeChat: no link to the store, a token and the mini-app QR.
    grandma = people.phone()
    sign_in(grandma, "grandma", "Grandma Li", next_path="/app/deals")
    grandma.goto("/app/deals?category=rice")
    rice = grandma.locator("#deals li[data-sku='rice-5kg']")
    expect(rice).to_contain_text("¥39.00")
    rice.get_by_role("link", name="Share").click()
    grandma.wait_for_url(re.compile(r"/app/share\?"))
    grandma.get_by_label("WeChat").check()
    grandma.get_by_role("button", name="Get what I can share").click()
    expect(grandma.locator("#share-result")).to_be_visible()
    expect(grandma.locator("#share-link-box")).to_be_hidden()
    expect(grandma.locator("#share-qr-box")).to_be_visible()
    token = grandma.locator("#share-token").input_value()
    assert "￥" in token
    shots.take(grandma, "grandma-share-sheet-wechat")

    # The grandson holds some credit, signs into the store and pastes the token.
    grandson = people.desk()
    sign_in_to_store(grandson, demo_store, "grandson", "Grandson", next_path="/")
    give_credit(api, store_keys["operator"], shop["campaign"]["id"], "grandson", 500)
    grandson.goto(demo_store + "/")
    grandson.get_by_label(re.compile("password token")).fill(f"{token} (from the family group)")
    grandson.get_by_role("button", name="Open").click()
    grandson.wait_for_url(re.compile(r"/store/p/rice-5kg\?share=\w{11}$"))
    expect(grandson.locator("h1")).to_have_text("Northeast rice 5 kg")
    family = grandson.locator("#family-coupon")
    expect(family).to_have_attribute("data-status", "claimed")
    expect(family).to_contain_text("¥20 off rice: claimed")
    expect(grandson.locator("#your-price")).to_contain_text("¥39.00")
    shots.take(grandson, "store-product-with-family-coupon")
    check_accessibility(grandson)
    grandson.get_by_role("link", name="中文").click()
    expect(grandson.locator("#family-coupon")).to_contain_text("家人送你的券 ¥20 off rice: 已领取")
    shots.take(grandson, "store-product-with-family-coupon-zh")
    grandson.get_by_role("link", name="English").click()

    # The cart and the quote apply it; he chooses ¥2.50 of his credit.
    grandson.get_by_role("button", name="Add to cart").click()
    expect(grandson.locator("#family-coupon")).to_contain_text("applied at checkout")
    # Credit is typed in yuan (or all of it in one tap), never in fen.
    expect(grandson.locator("#use-all-credit")).to_have_text(re.compile(r"^Use all ¥\d+\.\d\d$"))
    grandson.get_by_label(re.compile("Wallet credit")).fill("2.50")
    grandson.get_by_role("button", name="Check out").click()
    expect(grandson.locator("#discount")).to_have_text("-¥20.00")
    expect(grandson.locator("#credit")).to_have_text("-¥2.50")
    expect(grandson.locator("#to-pay")).to_have_text("¥36.50")
    shots.take(grandson, "store-checkout")
    grandson.get_by_role("button", name=re.compile("^Pay")).click()
    grandson.wait_for_url(re.compile(r"/store/orders$"))
    expect(grandson.locator("#orders li").first).to_contain_text(
        "paid ¥36.50 (saved ¥20.00, credit ¥2.50)"
    )
    shots.take(grandson, "store-my-orders")

    # The order is Grandma's share's: her reward is held for the refund period.
    code = re.search(r"[0-9A-Za-z]{11}", token.strip("￥")).group(0)  # type: ignore[union-attr]
    with unit_of_work(session_factory) as session:
        rewards = session.query(ReferralReward).all()
        assert [(r.share_code, r.sharer_id, r.buyer_id, r.amount, r.status) for r in rewards] == [
            (code, "grandma", "grandson", 300, "held")
        ]
    coupons = api.get("/v1/coupons", headers=login(api, "grandson")).json()["coupons"]
    assert [(c["name"], c["state"]) for c in coupons] == [("¥20 off rice", "used")]


def test_every_way_in_lands_on_the_product_page(
    api,
    session_factory,
    people,
    shots,
    store_keys,  # noqa: F811
    demo_store,  # noqa: F811
):
    shop = open_shop(api, store_keys, demo_store)
    app_url = str(api.base_url).rstrip("/")
    body = {
        "target": {"type": "deal", "id": "rice-5kg"},
        "channel": "web",
        "campaign_id": shop["campaign"]["id"],
    }
    out = api.post("/v1/shares", json=body, headers=login(api, "grandma")).json()
    with unit_of_work(session_factory) as session:
        qr = sharing_landing.qr_content(session, out["code"], base_url=app_url, now=utcnow())
    relative = people.desk()
    sign_in_to_store(relative, demo_store, "cousin", "Cousin", next_path="/")
    ways = {"link": out["link"], "qr": qr}
    for way, url in ways.items():
        response = relative.goto(url)
        assert response is not None and response.status == 200, way
        expect(relative.locator("h1")).to_have_text("Northeast rice 5 kg")
        assert re.search(r"/store/p/rice-5kg\?share=\w{11}$", relative.url), (way, relative.url)
        expect(relative.locator("#family-coupon")).to_have_attribute("data-status", "claimed")
        shots.take(relative, f"way-in-{way}")
    relative.goto(demo_store + "/")
    relative.get_by_label(re.compile("password token")).fill(out["text"])
    relative.get_by_role("button", name="Open").click()
    relative.wait_for_url(re.compile(r"/store/p/rice-5kg\?share=\w{11}$"))
    expect(relative.locator("h1")).to_have_text("Northeast rice 5 kg")
    shots.take(relative, "way-in-token")
    coupons = api.get("/v1/coupons", headers=login(api, "cousin")).json()["coupons"]
    assert len(coupons) == 1  # three ways in, one share: one coupon


def test_a_share_the_store_no_longer_offers_says_so(
    api,
    session_factory,
    people,
    shots,
    store_keys,  # noqa: F811
    demo_store,  # noqa: F811
):
    shop = open_shop(api, store_keys, demo_store)
    template_id = shop["template"]["id"]
    body = {"target": {"type": "coupon", "id": template_id}, "channel": "web"}
    out = api.post("/v1/shares", json=body, headers=login(api, "grandma")).json()
    ended = api.post(
        f"/v1/admin/coupon-templates/{template_id}/end", headers=store_keys["operator"]
    )
    assert ended.status_code == 200
    relative = people.desk()
    relative.goto(demo_store + "/")
    relative.get_by_label(re.compile("password token")).fill(out["text"])
    relative.get_by_role("button", name="Open").click()
    alert = relative.get_by_role("alert")
    expect(alert).to_have_attribute("data-code", "target_unavailable")
    expect(alert).to_have_text("What was shared with you is no longer available in this store.")
    shots.take(relative, "store-target-unavailable")
    relative.goto(out["link"])
    expect(relative.locator("#unavailable")).to_have_text("This is no longer available")
    shots.take(relative, "landing-target-unavailable")
