"""Red envelopes in a Telegram group, end to end: updates in Telegram's JSON at the webhook, the
bot's replies recorded by the stand-in Bot API server, money checked in the database."""

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import CampaignIn
from kinsave.db import unit_of_work
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.models import Envelope
from kinsave.ledger import service as ledger
from tests.factories import race
from tests.telegram_bot.conftest import SECRET, deliver
from tests.telegram_bot.standin import BotApiStandIn
from tests.telegram_bot.updates import GROUP, message_update, tap_update, user

GRANDMA = user(111, "奶奶")
COUSIN = user(222, "Cousin", language_code="en")
NAMES = {"tg:111": "奶奶", "tg:222": "Cousin"}


def _shop_with_credit(
    factory: sessionmaker[Session], credits: dict[str, int], daily: bool = False
) -> str:
    """The deployment's one shop, and Telegram shoppers holding its credit (signed in through
    the Mini App before, which named them)."""
    with unit_of_work(factory) as session:
        shop = auth.ensure_shop(session, "Tea House")
        rule = {"kind": "uniform", "min": 88, "max": 88} if daily else None
        campaign = campaigns.create_campaign(
            session, shop.id, CampaignIn(name="New Year", budget=100_000, daily_rule=rule)
        )
        for shopper_id, amount in credits.items():
            auth.ensure_shopper(session, shopper_id, NAMES.get(shopper_id))
            campaigns.grant_credit(session, shop.id, campaign.id, shopper_id, amount, None)
        return shop.id


def _balance(factory: sessionmaker[Session], shopper_id: str, shop_id: str) -> int:
    with unit_of_work(factory) as session:
        return ledger.wallet_balance(session, shopper_id, shop_id)


def _posted_envelope(bot_api: BotApiStandIn) -> tuple[int, str, dict[str, Any]]:
    (post,) = bot_api.of("sendMessage")
    (row,) = post.params["reply_markup"]["inline_keyboard"]
    (button,) = row
    return int(post.params["chat_id"]), button["callback_data"], button


def test_hongbao_in_group_then_taps_grab_and_redraw(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    sent = deliver(kinsave, message_update(GRANDMA, "/hongbao 10 3 恭喜发财", chat=GROUP))
    assert sent.status_code == 200, sent.text
    chat_id, callback_data, button = _posted_envelope(bot_api)
    assert chat_id == GROUP["id"] and button["text"] == "抢红包"
    assert "奶奶" in bot_api.of("sendMessage")[0].params["text"]
    assert "恭喜发财" in bot_api.of("sendMessage")[0].params["text"]
    assert _balance(session_factory, "tg:111", shop_id) == 4_000

    tappers = [COUSIN, user(333, "小明"), user(444, "Auntie", "en")]
    for tapper in tappers:
        assert deliver(kinsave, tap_update(tapper, 1000, callback_data)).status_code == 200
    answers = bot_api.of("answerCallbackQuery")
    assert answers[0].params["text"].startswith("You got ¥")  # the cousin speaks English
    assert answers[1].params["text"].startswith("你抢到了 ¥")
    got = sum(_balance(session_factory, f"tg:{t['id']}", shop_id) for t in tappers)
    assert got == 1_000
    last_edit = bot_api.of("editMessageText")[-1].params
    assert last_edit["chat_id"] in (GROUP["id"], str(GROUP["id"]))
    assert "红包已抢完" in last_edit["text"] and "手气最佳" in last_edit["text"]
    assert "reply_markup" not in last_edit  # no button once every share is gone

    late = deliver(kinsave, tap_update(GRANDMA, 1000, callback_data))
    assert late.status_code == 200
    assert bot_api.of("answerCallbackQuery")[-1].params["text"] == "手慢了，红包已抢完"
    assert _balance(session_factory, "tg:111", shop_id) == 4_000


def test_refusals_answer_in_the_senders_language_and_move_nothing(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:222": 500})
    for text, expected in [
        ("/hongbao 10 5", "Not enough credit for this envelope"),
        ("/hongbao 1.234 5", "Write the amount like /hongbao 8.88 5 Happy New Year"),
        ("/hongbao 0.03 5", "Bad amount"),
        ("/hongbao", "Usage: /hongbao AMOUNT SHARES"),
    ]:
        bot_api.calls.clear()
        assert deliver(kinsave, message_update(COUSIN, text, chat=GROUP)).status_code == 200
        (reply,) = bot_api.of("sendMessage")
        assert reply.params["text"].startswith(expected), reply.params["text"]
        assert "reply_markup" not in reply.params
    assert _balance(session_factory, "tg:222", shop_id) == 500
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Envelope)) == 0


def test_a_storm_of_taps_grants_exactly_the_shares(
    bot_server: Any,
    kinsave: httpx.Client,
    session_factory: sessionmaker[Session],
    bot_api: BotApiStandIn,
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    deliver(kinsave, message_update(GRANDMA, "/hongbao 20 5 大吉大利", chat=GROUP))
    _, callback_data, _ = _posted_envelope(bot_api)
    # 40 people tap once and 5 of them tap a second time, all at once.
    tappers = [user(10_000 + i, f"P{i}") for i in range(45)] + [
        user(10_000 + i, f"P{i}") for i in range(5)
    ]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    calls = [
        ("POST", "/v1/telegram/webhook", headers, tap_update(t, 1000, callback_data))
        for t in tappers
    ]
    responses = race(bot_server.url, calls)
    assert [r.status_code for r in responses] == [200] * 50
    answers = bot_api.wait_for("answerCallbackQuery", 50)
    wins = [a for a in answers if a.params["text"].startswith("你抢到了")]
    assert len(wins) == 5
    with unit_of_work(session_factory) as session:
        view = envelopes.envelope_view(session, _envelope_id(callback_data), viewer=None)
    assert view.grabbed_shares == 5 and view.grabbed_amount == 2_000
    assert len({g.shopper_id for g in view.grabs}) == 5
    assert _balance(session_factory, "tg:111", shop_id) == 3_000
    last_edit = bot_api.wait_for("editMessageText", 5)[-1].params
    assert "手气最佳" in last_edit["text"]


def _envelope_id(callback_data: str) -> str:
    return callback_data.split(":")[1]


def test_a_forged_secret_is_refused_and_changes_nothing(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    update = message_update(GRANDMA, "/hongbao 10 3", chat=GROUP)
    for secret in (None, "", "wrong", SECRET + "x", SECRET[:-1]):
        refused = deliver(kinsave, update, secret=secret)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    assert bot_api.calls == []
    assert _balance(session_factory, "tg:111", shop_id) == 5_000
    # The genuine delivery of the same update is still accepted afterwards.
    assert deliver(kinsave, update).status_code == 200
    assert _balance(session_factory, "tg:111", shop_id) == 4_000


def test_a_replayed_update_changes_nothing_and_says_nothing(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    update = message_update(GRANDMA, "/hongbao 10 3", chat=GROUP)
    assert deliver(kinsave, update).status_code == 200
    assert deliver(kinsave, update).status_code == 200
    assert len(bot_api.of("sendMessage")) == 1
    assert _balance(session_factory, "tg:111", shop_id) == 4_000
    _, callback_data, _ = _posted_envelope(bot_api)
    tap = tap_update(COUSIN, 1000, callback_data)
    for _ in range(3):
        assert deliver(kinsave, tap).status_code == 200
    assert len(bot_api.of("answerCallbackQuery")) == 1
    assert len(bot_api.of("editMessageText")) == 1


def test_what_is_not_an_update_is_refused(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    for body in ("[]", "{}", '{"update_id": "1"}', "not json", '{"update_id": 1, "message": 5}'):
        refused = kinsave.post("/v1/telegram/webhook", content=body, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
    assert bot_api.calls == []
