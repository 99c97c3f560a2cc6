"""The deal page's share button, a closed group that leads on to a new one, and a price cut helped
from its share, in Chromium at phone size."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kinsave.db import unit_of_work
from kinsave.groups.models import GroupMember
from kinsave.social.models import PriceCutHelp
from tests.coupons.factories import push_products
from tests.factories import login
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}


def rice_deal(api, store_keys, group_size: int = 3) -> dict[str, str]:
    push_products(api, store_keys["store"], [RICE])
    terms = {"sku": "rice-5kg", "group_price": 3990, "group_size": group_size, "units": 30}
    response = api.post("/v1/admin/group-deals", json=terms, headers=store_keys["operator"])
    assert response.status_code == 201, response.text
    deal: dict[str, str] = response.json()
    return deal


def share_code(api, shopper, kind: str, target_id: str) -> str:
    payload = {"target": {"type": kind, "id": target_id}, "channel": "wechat"}
    response = api.post("/v1/shares", json=payload, headers=shopper)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def test_the_deal_page_starts_a_group_and_opens_its_share_sheet(api, people, shots, store_keys):
    deal = rice_deal(api, store_keys)
    grandma = people.phone()
    sign_in(grandma, "grandma", "Grandma", next_path=f"/app/group-deals/{deal['id']}")
    shots.take(grandma, "deal-page-before")
    grandma.locator("#start-and-share").click()
    grandma.wait_for_url(re.compile(r"/app/share\?type=group&id=grp_\w+"))
    group_id = re.search(r"id=(grp_\w+)", grandma.url).group(1)  # type: ignore[union-attr]
    grandma.get_by_label("WeChat").check()
    grandma.get_by_role("button", name="Get what I can share").click()
    expect(grandma.locator("#share-card-title")).to_have_text(
        re.compile(r"^¥39\.90 each, 2 more needed, 2[34]h \d+m left: Northeast rice 5 kg$")
    )
    expect(grandma.locator("#share-qr-box")).to_be_visible()
    shots.take(grandma, "share-sheet-from-the-deal-page")

    # Back on the deal page: she is in a group, and the button shares it.
    grandma.goto(f"/app/group-deals/{deal['id']}")
    share = grandma.locator("#share-deal")
    expect(share).to_have_attribute("href", re.compile(rf"type=group&id={group_id}&"))
    shots.take(grandma, "deal-page-with-my-group")
    check_accessibility(grandma)
    share.click()
    grandma.wait_for_url(re.compile(rf"/app/share\?type=group&id={group_id}"))


def test_a_full_shared_group_offers_a_new_group_of_the_deal(
    api, session_factory, people, shots, store_keys
):
    deal = rice_deal(api, store_keys, group_size=2)
    grandma, son = login(api, "grandma"), login(api, "son")
    full = api.post(f"/v1/group-deals/{deal['id']}/groups", headers=grandma).json()
    code = share_code(api, grandma, "group", full["id"])
    assert api.post(f"/v1/groups/{full['id']}/join", headers=son).is_success

    aunt = people.phone()
    sign_in(aunt, "aunt", "Aunt")
    aunt.goto(f"/app/open/{code}")
    aunt.wait_for_url(re.compile(rf"/app/groups/{full['id']}\?share={code}$"))
    expect(aunt.locator("#group-succeeded")).to_be_visible()
    expect(aunt.locator("#join-group")).to_have_count(0)
    start_new = aunt.locator("#start-new-group")
    expect(start_new).to_have_text(re.compile(r"Start a new group · ¥39\.90"))
    shots.take(aunt, "full-group-offers-a-new-one")
    check_accessibility(aunt)
    start_new.click()
    aunt.wait_for_url(re.compile(r"/app/groups/grp_\w+$"))
    new_id = aunt.url.rsplit("/", 1)[1]
    assert new_id != full["id"]
    expect(aunt.locator("#group-needed")).to_have_text("1")
    expect(aunt.locator("#share-group")).to_be_visible()
    shots.take(aunt, "her-new-group")
    with unit_of_work(session_factory) as session:
        position = session.execute(
            select(GroupMember.position).where(
                GroupMember.group_id == new_id, GroupMember.shopper_id == "aunt"
            )
        ).scalar_one()
    assert position == 1


def test_a_price_cut_helped_from_its_share_records_it(
    api, session_factory, people, shots, store_keys
):
    push_products(api, store_keys["store"], [RICE])
    terms = {"sku": "rice-5kg", "final_price": 2990, "helpers_needed": 3, "units": 5}
    offer = api.post("/v1/admin/price-cuts", json=terms, headers=store_keys["operator"]).json()
    grandma = login(api, "grandma")
    cut = api.post("/v1/price-cuts", json={"offer_id": offer["id"]}, headers=grandma).json()
    code = share_code(api, grandma, "price_cut", cut["id"])

    son = people.phone()
    sign_in(son, "son", "Son")
    son.goto(f"/app/open/{code}")
    son.wait_for_url(re.compile(rf"/app/price-cuts/{cut['id']}\?share={code}$"))
    son.locator("#help-cut").click()
    expect(son.locator("#cut-progress")).to_contain_text("1 / 3")
    shots.take(son, "helped-from-the-share")
    with unit_of_work(session_factory) as session:
        via = session.execute(
            select(PriceCutHelp.via_share).where(
                PriceCutHelp.cut_id == cut["id"], PriceCutHelp.helper_id == "son"
            )
        ).scalar_one()
    assert via == code
