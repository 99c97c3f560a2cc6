"""Journey 8 in Chromium: Grandma starts a group of 3 for rice at the group price and shares it;
two relatives join from the link before the window ends; all three buy at the group price in the
demo store. A group that times out shows as failed, and nobody is charged."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from kinsave.db import unit_of_work, utcnow
from kinsave.groups.models import DealGroup
from kinsave.jobs import fail_expired_groups
from tests.coupons.factories import my_coupon_states, push_products
from tests.factories import login
from tests.web.conftest import check_accessibility, sign_in
from tests.web.store_signin import sign_in_to_store

pytestmark = pytest.mark.browser
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}
RELATIVES = {"mum": "Mum (Mei)", "dad": "Dad (Jun)"}


def buy_rice_in_store(page: Page, demo_store: str, user_id: str, name: str) -> None:
    sign_in_to_store(page, demo_store, user_id, name)
    page.goto(demo_store + "/p/rice-5kg")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("button", name="Check out").click()
    expect(page.locator("#to-pay")).to_have_text("¥39.90")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    page.wait_for_url(re.compile(r"/store/orders$"))
    expect(page.locator("#orders li").first).to_contain_text("paid ¥39.90")


def test_group_of_three_buys_rice_at_the_group_price(
    api, session_factory, people, shots, store_keys, demo_store
):
    operator, store = store_keys["operator"], store_keys["store"]
    push_products(api, store, [RICE])
    terms = {"sku": "rice-5kg", "group_price": 3990, "group_size": 3, "units": 30}
    deal = api.post("/v1/admin/group-deals", json=terms, headers=operator).json()

    grandma = people.phone()
    sign_in(grandma, "grandma", "Grandma Li", next_path=f"/app/group-deals/{deal['id']}")
    expect(grandma.locator("#group-price")).to_have_text("¥39.90")
    expect(grandma.locator("#group-size")).to_contain_text("3")
    shots.take(grandma, "group-deal")
    check_accessibility(grandma)
    grandma.get_by_role("button", name="Start a group").click()
    grandma.wait_for_url(re.compile(r"/app/groups/grp_\w+$"))
    # Up front: the price, how many are still needed, the time left.
    expect(grandma.locator("#group-price")).to_have_text("¥39.90")
    expect(grandma.locator("#group-needed")).to_have_text("2")
    expect(grandma.locator("#group-time-left")).to_contain_text(re.compile(r"2[34] h"))
    link = grandma.locator("#group-link").input_value()
    assert link.endswith(grandma.url.split("/app/")[1])
    shots.take(grandma, "group-started")
    check_accessibility(grandma)

    for count, (user_id, name) in enumerate(RELATIVES.items(), start=1):
        relative = people.phone()
        sign_in(relative, user_id, name)
        relative.goto(link)
        expect(relative.locator("#starter")).to_have_text("Grandma Li")
        relative.get_by_role("button", name="Join").click()
        expect(relative.locator("#group-members li")).to_have_count(count + 1)
        shots.take(relative, f"joined-by-{user_id}")
    expect(relative.locator("#group-succeeded")).to_contain_text("group price")
    expect(relative.locator("#group-needed")).to_have_text("0")
    check_accessibility(relative)

    grandma.reload()
    expect(grandma.locator("#group-succeeded")).to_be_visible()
    expect(grandma.locator("#group-entitlement")).to_contain_text("¥39.90")
    shots.take(grandma, "group-succeeded")

    for user_id, name in {"grandma": "Grandma Li", **RELATIVES}.items():
        shop = people.desk()
        buy_rice_in_store(shop, demo_store, user_id, name)
        shots.take(shop, f"store-paid-{user_id}")

    watched = api.get(f"/v1/admin/group-deals/{deal['id']}", headers=operator).json()
    assert (watched["groups_succeeded"], watched["units_left"]) == (1, 27)


def test_timed_out_group_shows_failed_and_nothing_is_charged(
    api, session_factory, people, shots, store_keys
):
    operator, store = store_keys["operator"], store_keys["store"]
    push_products(api, store, [RICE])
    terms = {"sku": "rice-5kg", "group_price": 3990, "group_size": 3, "units": 30}
    deal = api.post("/v1/admin/group-deals", json=terms, headers=operator).json()
    aunt = people.phone()
    sign_in(aunt, "aunt", "Aunt Wang", next_path=f"/app/group-deals/{deal['id']}")
    aunt.get_by_role("button", name="Start a group").click()
    aunt.wait_for_url(re.compile(r"/app/groups/grp_\w+$"))
    group_id = aunt.url.rsplit("/", 1)[1]
    with unit_of_work(session_factory) as session:
        session.execute(
            update(DealGroup)
            .where(DealGroup.id == group_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert fail_expired_groups(session_factory).failed == 1
    aunt.reload()
    expect(aunt.locator("#group-failed")).to_have_text(
        "Time ran out before the group filled. Nobody is charged."
    )
    expect(aunt.locator("#join-group")).to_have_count(0)
    shots.take(aunt, "group-failed")
    check_accessibility(aunt)
    aunt.goto("/app/groups")
    expect(aunt.locator(f"#my-groups li[data-group='{group_id}'] .status")).to_contain_text(
        "nobody charged"
    )
    shots.take(aunt, "my-groups")
    assert my_coupon_states(api, login(api, "aunt")) == {}
    watched = api.get(f"/v1/admin/group-deals/{deal['id']}", headers=operator).json()
    assert (watched["groups_failed"], watched["units_left"]) == (1, 30)
