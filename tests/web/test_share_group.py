"""A group travels through the same share sheet as a deal, in Chromium: Grandma shares her group
on WeChat (card and token show the group price, how many are still needed and the time left), a
relative follows the card into the mini app, lands on the group page and joins: the join is the
share's."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kinsave.db import unit_of_work
from kinsave.groups.models import GroupMember
from tests.coupons.factories import push_products
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}


def test_group_shared_on_wechat_and_joined_from_the_card(
    api, session_factory, people, shots, store_keys
):
    push_products(api, store_keys["store"], [RICE])
    terms = {"sku": "rice-5kg", "group_price": 3990, "group_size": 3, "units": 30}
    deal = api.post("/v1/admin/group-deals", json=terms, headers=store_keys["operator"]).json()

    grandma = people.phone(locale="zh-CN")
    sign_in(grandma, "grandma", "奶奶", next_path=f"/app/group-deals/{deal['id']}")
    grandma.locator("#start-group").click()
    grandma.wait_for_url(re.compile(r"/app/groups/grp_\w+$"))
    group_id = grandma.url.rsplit("/", 1)[1]
    grandma.locator("#share-group").click()
    grandma.wait_for_url(re.compile(r"/app/share\?type=group"))
    grandma.get_by_label("微信").check()
    grandma.get_by_role("button", name="生成分享内容").click()
    expect(grandma.locator("#share-result")).to_be_visible()
    terms_up_front = re.compile(
        r"^拼团价¥39\.90，还差2人，剩余2[34]小时\d+分：和我一起拼团买Northeast rice 5 kg。$"
    )
    expect(grandma.locator("#share-card-title")).to_have_text(terms_up_front)
    expect(grandma.locator("#share-token")).to_have_value(re.compile(r"还差2人，剩余2[34]小时"))
    expect(grandma.locator("#share-qr-box")).to_be_visible()
    hint = "粘贴到家庭群：谁在小程序里打开，谁就能加入你的团。"
    expect(grandma.locator("#share-token-box .hint")).to_have_text(hint)
    path = grandma.locator("#share-card-path").text_content() or ""
    code = path.rsplit("=", 1)[1]
    shots.take(grandma, "share-sheet-group-wechat")
    check_accessibility(grandma)

    mum = people.phone(locale="zh-CN")
    sign_in(mum, "mum", "妈妈")
    mum.goto(f"/app/open/{code}")  # what the card's path opens inside the mini app
    mum.wait_for_url(re.compile(rf"/app/groups/{group_id}\?share={code}$"))
    expect(mum.locator("#group-needed")).to_have_text("2")
    mum.locator("#join-group").click()
    expect(mum.locator("#group-members li")).to_have_count(2)
    shots.take(mum, "joined-from-share")
    with unit_of_work(session_factory) as session:
        via = session.execute(
            select(GroupMember.via_share).where(
                GroupMember.group_id == group_id, GroupMember.shopper_id == "mum"
            )
        ).scalar_one()
    assert via == code
