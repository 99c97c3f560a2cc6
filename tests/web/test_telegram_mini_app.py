"""The Mini App inside Telegram, in Chromium: Telegram opens /telegram/app with the launch data in
the URL's fragment (a WebView stand-in records what the page asks of Telegram). Grandma signs in
and sends her envelope to a group with "send to a Telegram group" (switchInlineQuery), and the
bot answers that inline query with the envelope and its Grab button; her cousin opens the
Mini App from the envelope's t.me link and lands on the envelope, signed in; forged launch data
signs nobody in."""

import json
import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import ShopperEnvelopeIn
from tests.auth.initdata import user_fields, with_hash
from tests.conftest import LiveServer
from tests.telegram_bot.conftest import BOT_TOKEN, deliver
from tests.telegram_bot.test_envelopes_in_group import _shop_with_credit
from tests.telegram_bot.updates import inline_query_update, user
from tests.web.conftest import Contexts, check_accessibility

pytestmark = pytest.mark.browser
# What the page asks of Telegram goes through TelegramWebviewProxy.postEvent in the apps.
WEBVIEW = (
    "window.__events = []; window.TelegramWebviewProxy = {postEvent: function (t, d) {"
    " window.__events.push([t, d]); }};"
)


@pytest.fixture
def telegram_people(browser: Browser, bot_server: LiveServer) -> Iterator[Contexts]:
    contexts = Contexts(browser, bot_server.url)
    yield contexts
    contexts.close()
    assert not contexts.problems, contexts.problems


def _open_in_telegram(page: Page, user_id: int, start: str | None = None, token: str = BOT_TOKEN):
    extra = {"start_param": start} if start else {}
    init_data = with_hash(user_fields(user_id, int(time.time()), **extra), token)
    fragment = (
        f"tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0"
        "&tgWebAppPlatform=ios&tgWebAppBotInline=1"
    )
    query = f"?tgWebAppStartParam={start}" if start else ""
    page.add_init_script(WEBVIEW)
    page.goto(f"/telegram/app{query}#{fragment}")


def test_sign_in_send_to_group_and_open_from_the_link(
    telegram_people,
    kinsave,
    session_factory,
    bot_settings,
    bot_api,
    shots,  # noqa: F811
):
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    with unit_of_work(session_factory) as session:
        body = ShopperEnvelopeIn(total=600, shares=2, message="新年快乐", shop_id=shop_id)
        envelope = envelopes.create_shopper_envelope(session, bot_settings, "tg:111", body)
        auth.ensure_shopper(session, "tg:111", "奶奶")

    grandma = telegram_people.phone(locale="zh-CN")
    _open_in_telegram(grandma, 111)
    grandma.wait_for_url(re.compile(r"/app$"))
    grandma.goto(f"/app/e/{envelope.id}")
    send = grandma.get_by_role("button", name="发到 Telegram 群")
    expect(send).to_be_visible()
    shots.take(grandma, "envelope-in-telegram")
    check_accessibility(grandma)
    send.click()
    asked = grandma.evaluate(
        "window.__events.filter(e => e[0] === 'web_app_switch_inline_query').map(e => e[1])"
    )
    assert [json.loads(a) for a in asked] == [
        {"query": envelope.id, "chat_types": ["users", "groups"]}
    ]
    # Telegram then sends the bot the inline query typed for her; the bot offers the envelope.
    deliver(kinsave, inline_query_update(user(111, "奶奶"), envelope.id))
    (answer,) = bot_api.of("answerInlineQuery")
    (result,) = answer.params["results"]
    assert "新年快乐" in result["input_message_content"]["message_text"]
    assert result["reply_markup"]["inline_keyboard"][0][0]["text"].startswith("抢")

    # Her share of the envelope to Telegram carries the bot's Mini App link.
    share = grandma.evaluate(
        """(id) => fetch('/v1/shares', {method: 'POST', credentials: 'same-origin',
             headers: {'Content-Type': 'application/json',
                       'X-Kinsave-CSRF': document.cookie.match(/ks_csrf=([^;]+)/)[1]},
             body: JSON.stringify({target: {type: 'envelope', id: id}, channel: 'telegram'})
           }).then(r => r.json())""",
        envelope.id,
    )
    assert share["deep_link"] == f"https://t.me/KinsaveBot/app?startapp={share['code']}"

    cousin = telegram_people.phone()
    _open_in_telegram(cousin, 222, start=share["code"])
    cousin.wait_for_url(re.compile(rf"/app/e/{envelope.id}$"))
    expect(cousin.locator("#send-to-telegram")).to_have_count(0)  # not his envelope
    cousin.get_by_role("button", name=re.compile("Grab")).click()
    expect(cousin.locator("#grab-amount")).to_have_text(re.compile(r"¥\d+\.\d\d"))
    expect(cousin.locator("#grabs")).to_contain_text("Li Hua")
    shots.take(cousin, "cousin-grabbed-from-the-link")


def test_forged_launch_data_is_refused(telegram_people, kinsave, shots):
    page = telegram_people.phone()
    _open_in_telegram(page, 333, token="7000000001:AAH-another-bots-token")
    expect(page.locator("#telegram-refused")).to_have_text(
        "Telegram could not confirm who you are. Close the mini app and open it again."
    )
    shots.take(page, "forged-refused")
    check_accessibility(page)
    page.goto("/app")
    page.wait_for_url(re.compile(r"/app/login"))  # nobody signed in

    browser_tab = telegram_people.phone()
    browser_tab.goto("/telegram/app?tgWebAppStartParam=AbCdEf12345")
    expect(browser_tab.locator("#telegram-outside")).to_be_visible()
    expect(browser_tab.locator("#telegram-continue")).to_have_attribute("href", "/s/AbCdEf12345")
    shots.take(browser_tab, "outside-telegram")
