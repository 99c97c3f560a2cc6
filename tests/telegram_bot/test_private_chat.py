"""The bot in a private chat: /daily through the API's daily claim, help, and the language of
every reply (zh-CN or English from the user's language_code)."""

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from tests.telegram_bot.conftest import deliver
from tests.telegram_bot.standin import BotApiStandIn
from tests.telegram_bot.test_envelopes_in_group import _balance, _shop_with_credit
from tests.telegram_bot.updates import GROUP, message_update, user

NEWCOMER_ZH = user(555, "表妹", "zh-hans")
NEWCOMER_EN = user(666, "Nephew", "en-GB")


def _replies(bot_api: BotApiStandIn) -> list[str]:
    return [call.params["text"] for call in bot_api.of("sendMessage")]


def test_daily_claims_once_a_day_for_a_user_new_to_kinsave(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {}, daily=True)
    assert deliver(kinsave, message_update(NEWCOMER_ZH, "/daily")).status_code == 200
    assert deliver(kinsave, message_update(NEWCOMER_ZH, "/daily")).status_code == 200
    assert deliver(kinsave, message_update(NEWCOMER_EN, "/daily@KinsaveBot")).status_code == 200
    assert _replies(bot_api) == [
        "今日红包：¥0.88 已到账！",
        "今天已经领过了，明天再来",
        "Today's envelope: ¥0.88!",
    ]
    assert _balance(session_factory, "tg:555", shop_id) == 88
    assert _balance(session_factory, "tg:666", shop_id) == 88


def test_daily_without_a_daily_campaign_and_in_a_group(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {})
    deliver(kinsave, message_update(NEWCOMER_EN, "/daily"))
    deliver(kinsave, message_update(NEWCOMER_ZH, "/daily", chat=GROUP))
    assert _replies(bot_api) == [
        "There is no daily envelope today",
        "请私聊我发 /daily 领取每日红包",
    ]
    assert _balance(session_factory, "tg:555", shop_id) == 0


def test_help_and_hongbao_in_private_speak_the_users_language(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    _shop_with_credit(session_factory, {})
    deliver(kinsave, message_update(NEWCOMER_ZH, "/start"))
    deliver(kinsave, message_update(NEWCOMER_EN, "/help"))
    deliver(kinsave, message_update(NEWCOMER_ZH, "/hongbao 10 5"))
    deliver(kinsave, message_update(NEWCOMER_EN, "just chatting"))
    replies = _replies(bot_api)
    assert len(replies) == 3
    assert replies[0].startswith("🧧 在群里发 /hongbao")
    assert replies[1].startswith("🧧 In a group: /hongbao")
    assert replies[2] == "请在群里发 /hongbao，大家才能抢"


def test_a_bot_without_its_shop_says_so(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    """Two shops and no KINSAVE_TELEGRAM_SHOP: the bot cannot know whose credit moves."""
    _shop_with_credit(session_factory, {"tg:555": 5_000})
    with unit_of_work(session_factory) as session:
        auth.ensure_shop(session, "Second Shop")
    deliver(kinsave, message_update(NEWCOMER_ZH, "/hongbao 10 5", chat=GROUP))
    deliver(kinsave, message_update(NEWCOMER_EN, "/daily"))
    assert _replies(bot_api) == ["这个机器人还没有设置好", "There is no daily envelope today"]
