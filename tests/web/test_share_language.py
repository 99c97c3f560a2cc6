"""The share copy is in the shopper's language: the zh-CN mini app's token text is Chinese."""

import re

import pytest
from playwright.sync_api import expect

from tests.coupons.factories import push_products
from tests.factories import create_campaign, shop_key
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
RICE = {"sku": "rice-5kg", "title": "东北大米 5 kg", "price": 5900, "category": "rice"}


def test_the_token_text_is_in_the_shoppers_language(api, session_factory, people, shots):
    operator = shop_key(session_factory)
    create_campaign(api, operator, daily_rule={"kind": "uniform", "min": 88, "max": 88})
    push_products(api, shop_key(session_factory, role="store"), [RICE])
    grandma = people.phone(locale="zh-CN")
    sign_in(grandma, "grandma", "Grandma Li")
    grandma.goto("/app/share?type=deal&id=rice-5kg")
    grandma.get_by_label("微信").check()
    grandma.get_by_role("button", name="生成分享内容").click()
    token = grandma.locator("#share-token")
    expect(token).to_have_value(re.compile(r"^￥\w{11}￥给你分享一个店里的好价。"))
    expect(token).to_have_value(re.compile(r"复制这条消息，打开小程序即可领取。$"))
    shots.take(grandma, "share-sheet-zh")
    check_accessibility(grandma)
