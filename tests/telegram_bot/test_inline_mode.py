"""The Mini App's "send to a Telegram group": the envelope is created through the API, then
switchInlineQuery(envelope id) lets its sender post it into a group through the bot's inline
mode; taps on that message arrive with an inline_message_id."""

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import ShopperEnvelopeIn
from tests.telegram_bot.conftest import deliver
from tests.telegram_bot.standin import BotApiStandIn
from tests.telegram_bot.test_envelopes_in_group import COUSIN, GRANDMA, _balance, _shop_with_credit
from tests.telegram_bot.updates import inline_query_update, inline_tap_update


def test_inline_mode_posts_the_senders_envelope_and_taps_grab(
    kinsave: httpx.Client,
    session_factory: sessionmaker[Session],
    bot_api: BotApiStandIn,
    bot_settings: Settings,
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    with unit_of_work(session_factory) as session:
        body = ShopperEnvelopeIn(total=600, shares=2, message="新年快乐", shop_id=shop_id)
        envelope = envelopes.create_shopper_envelope(session, bot_settings, "tg:111", body)
        auth.ensure_shopper(session, "tg:222", "Cousin")

    deliver(kinsave, inline_query_update(COUSIN, envelope.id))  # not the sender: nothing offered
    deliver(kinsave, inline_query_update(GRANDMA, envelope.id))
    deliver(kinsave, inline_query_update(GRANDMA, "env_doesnotexist"))
    offered = [call.params["results"] for call in bot_api.of("answerInlineQuery")]
    assert [len(results) for results in offered] == [0, 1, 0]
    (result,) = offered[1]
    assert result["type"] == "article" and result["id"] == envelope.id
    assert "新年快乐" in result["input_message_content"]["message_text"]
    (row,) = result["reply_markup"]["inline_keyboard"]
    callback_data = row[0]["callback_data"]

    deliver(kinsave, inline_tap_update(COUSIN, "AgAAAInline", callback_data))
    (answer,) = bot_api.of("answerCallbackQuery")
    assert answer.params["text"].startswith("You got ¥")
    (edit,) = bot_api.of("editMessageText")
    assert edit.params["inline_message_id"] == "AgAAAInline" and "chat_id" not in edit.params
    assert "Cousin" in edit.params["text"]
    assert _balance(session_factory, "tg:222", shop_id) > 0
