"""Passing an envelope on, in Chromium: Grandma opens the same share sheet a deal has (WeChat:
a mini-app card, a QR code and the token, no link), sends the envelope to her family circle,
and her daughter finds it on her home page and grabs it. The operator turns the card off for
WeChat in the console, and the sheet stops offering it."""

import re

import pytest
from playwright.sync_api import expect

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.social import service as social
from tests.factories import create_campaign, give_credit, login
from tests.social.test_help_requests import _offer, _start
from tests.web.conftest import check_accessibility, sign_in
from tests.web.test_console import sign_in_console

pytestmark = pytest.mark.browser


def _grandmas_envelope(api, session_factory, operator):
    campaign = create_campaign(api, operator, budget=100_000)
    with unit_of_work(session_factory) as session:  # named as they will sign in
        auth.ensure_shopper(session, "grandma", "奶奶")
        auth.ensure_shopper(session, "mum", "妈妈")
    grandma = login(api, "grandma")
    give_credit(api, operator, campaign["id"], "grandma", 2_000)
    body = {"total": 1_000, "shares": 2, "message": "过年好"}
    response = api.post("/v1/envelopes", json=body, headers=grandma)
    assert response.status_code == 201, response.text
    with unit_of_work(session_factory) as session:
        social.link_relatives(session, "grandma", "mum", via="share")
    return response.json()


def test_share_sheet_circle_and_grab_from_home(api, session_factory, people, shots, store_keys):
    envelope = _grandmas_envelope(api, session_factory, store_keys["operator"])

    grandma = people.phone(locale="zh-CN")
    sign_in(grandma, "grandma", "奶奶", next_path=f"/app/e/{envelope['id']}")
    expect(grandma.locator("#pass-on")).to_be_visible()
    expect(grandma.locator("#send-to-telegram")).to_be_hidden()  # not opened inside Telegram
    shots.take(grandma, "envelope-pass-on")
    grandma.locator("#share-envelope").click()
    grandma.wait_for_url(re.compile(r"/app/share\?type=envelope"))
    grandma.get_by_label("微信").check()
    grandma.get_by_role("button", name="生成分享内容").click()
    expect(grandma.locator("#share-result")).to_be_visible()
    expect(grandma.locator("#share-card-box")).to_be_visible()
    expect(grandma.locator("#share-card-title")).to_have_text("给你发了一个红包。")
    expect(grandma.locator("#share-card-path")).to_have_text(
        re.compile(r"^pages/share/index\?s=\w{11}$")
    )
    picture = grandma.locator("#share-card-picture")
    expect(picture).to_have_attribute("src", re.compile(r"/static/cards/envelope\.png$"))
    assert grandma.evaluate("document.getElementById('share-card-picture').naturalWidth") == 500
    expect(grandma.locator("#share-qr-box")).to_be_visible()
    expect(grandma.locator("#share-link-box")).to_be_hidden()
    expect(grandma.locator("#share-token")).to_have_value(
        re.compile("^￥\\w{11}￥给你发了一个红包")
    )
    shots.take(grandma, "share-sheet-envelope-wechat")
    check_accessibility(grandma)

    # Straight to the family circle, from the envelope page.
    grandma.goto(f"/app/e/{envelope['id']}")
    grandma.get_by_role("button", name="发到亲友圈").click()
    expect(grandma.locator("#circle-status")).to_have_text("已发到亲友圈：亲友在首页就能看到。")
    expect(grandma.locator("#send-to-circle")).to_be_hidden()
    shots.take(grandma, "sent-to-circle")

    # Her daughter sees it on her home page and grabs it.
    mum = people.phone(locale="zh-CN")
    sign_in(mum, "mum", "妈妈")
    row = mum.locator(f"#circle-envelopes li[data-envelope='{envelope['id']}']")
    expect(row).to_contain_text("奶奶")
    expect(row).to_contain_text("过年好")
    expect(row).to_contain_text("2 / 2")
    shots.take(mum, "home-circle-envelope")
    check_accessibility(mum)
    row.get_by_role("link", name=re.compile("去抢")).click()
    mum.wait_for_url(re.compile(rf"/app/e/{envelope['id']}$"))
    mum.get_by_role("button", name=re.compile("抢")).click()
    expect(mum.locator("#grab-amount")).to_have_text(re.compile(r"¥\d+\.\d\d"))
    amount = mum.locator("#grab-amount").text_content()
    expect(mum.locator("#pass-on")).to_be_visible()  # one share left: she may pass it on too
    expect(mum.locator("#send-to-circle")).to_have_count(0)  # but only the sender sends it
    mum.goto("/app")
    expect(row).to_contain_text(f"你抢到了 {amount}")
    shots.take(mum, "home-after-grab")


def test_console_switch_takes_the_card_away(api, session_factory, people, shots, store_keys):
    operator = store_keys["operator"]
    envelope = _grandmas_envelope(api, session_factory, operator)
    console = people.desk()
    sign_in_console(console, operator["Authorization"].removeprefix("Bearer "))
    console.goto("/admin/channels/web")
    expect(console.locator("#p-card")).to_be_disabled()
    expect(console.locator("#p-card-hint")).to_be_visible()
    shots.take(console, "web-policy-no-deep-link")
    console.goto("/admin/channels/wechat")
    card = console.get_by_label(re.compile("Mini-app card allowed"))
    expect(card).to_be_checked()
    card.uncheck()
    console.get_by_label("Note").fill("host bans cards this week")
    console.get_by_role("button", name="Save as a new version").click()
    expect(console.locator("#policy-version")).to_have_text("1")
    expect(console.get_by_label(re.compile("Mini-app card allowed"))).not_to_be_checked()
    history = console.locator("#policy-history tbody tr")
    expect(history.first).to_contain_text("host bans cards this week")
    expect(history.first.locator("td").last).to_have_text("no")
    shots.take(console, "wechat-policy-card-off")
    check_accessibility(console)

    grandma = people.phone()
    sign_in(grandma, "grandma", "Grandma", next_path=f"/app/e/{envelope['id']}")
    grandma.get_by_role("link", name="Share").click()
    grandma.get_by_label("WeChat").check()
    grandma.get_by_role("button", name="Get what I can share").click()
    expect(grandma.locator("#share-result")).to_be_visible()
    expect(grandma.locator("#share-card-box")).to_be_hidden()
    expect(grandma.locator("#share-token")).to_have_value(re.compile("A red envelope for you"))
    shots.take(grandma, "share-sheet-card-off")


def test_help_request_gets_the_same_share_sheet(api, session_factory, people, shots, store_keys):
    operator = store_keys["operator"]
    campaign = create_campaign(api, operator, budget=10_000)
    offer = _offer(api, operator, campaign["id"])
    with unit_of_work(session_factory) as session:
        auth.ensure_shopper(session, "grandma", "奶奶")
    started = _start(api, login(api, "grandma"), offer["id"])

    grandma = people.phone(locale="zh-CN")
    sign_in(grandma, "grandma", "奶奶", next_path=f"/app/help/{started['id']}")
    grandma.locator("a.share-link").click()
    grandma.wait_for_url(re.compile(r"/app/share\?type=help"))
    grandma.get_by_label("微信").check()
    grandma.get_by_role("button", name="生成分享内容").click()
    expect(grandma.locator("#share-card-title")).to_have_text("帮我点一下，一起解锁红包。")
    expect(grandma.locator("#share-card-picture")).to_have_attribute(
        "src", re.compile(r"/static/cards/help\.png$")
    )
    expect(grandma.locator("#share-token-box .hint")).to_have_text(
        "粘贴到家庭群：每位亲友打开后都能帮你点一次。"
    )
    shots.take(grandma, "share-sheet-help-wechat")
    check_accessibility(grandma)
