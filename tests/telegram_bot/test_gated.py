"""Telegram's storm taps go through the API's gates: a grab button's tap through the grab
batcher and its gate, /daily through the daily batcher and its gate, so the refusals of a
Telegram rush are answered before the database as the API's are (kinsave_gate_decisions_total)."""

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from tests.telegram_bot.conftest import deliver
from tests.telegram_bot.standin import BotApiStandIn
from tests.telegram_bot.test_envelopes_in_group import (
    GRANDMA,
    _balance,
    _posted_envelope,
    _shop_with_credit,
)
from tests.telegram_bot.updates import GROUP, message_update, tap_update, user


def _decided(gate: str, outcome: str) -> float:
    labels = {"gate": gate, "outcome": outcome}
    return REGISTRY.get_sample_value("kinsave_gate_decisions_total", labels) or 0.0


@pytest.fixture
def decisions() -> dict[tuple[str, str], float]:
    """The gate decisions counted so far (the live server runs in this process)."""
    return {
        (gate, outcome): _decided(gate, outcome)
        for gate in ("grab", "daily")
        for outcome in ("admitted", "envelope_empty", "already_grabbed", "already_claimed_today")
    }


def _counted(before: dict[tuple[str, str], float], gate: str, outcome: str) -> float:
    return _decided(gate, outcome) - before[(gate, outcome)]


def test_grab_taps_are_decided_by_the_grab_gate(
    kinsave: httpx.Client,
    session_factory: sessionmaker[Session],
    bot_api: BotApiStandIn,
    decisions: dict[tuple[str, str], float],
) -> None:
    shop_id = _shop_with_credit(session_factory, {"tg:111": 5_000})
    deliver(kinsave, message_update(GRANDMA, "/hongbao 2 2", chat=GROUP))
    _, callback_data, _ = _posted_envelope(bot_api)
    tappers = [user(20_000 + i, f"T{i}") for i in range(5)]
    for tapper in [*tappers, tappers[0]]:  # the first one taps twice
        assert deliver(kinsave, tap_update(tapper, 1000, callback_data)).status_code == 200
    texts = [call.params["text"] for call in bot_api.of("answerCallbackQuery")]
    assert sum(text.startswith("你抢到了") for text in texts) == 2
    assert texts[2:] == ["手慢了，红包已抢完"] * 3 + ["你已经抢过这个红包了"]
    assert _counted(decisions, "grab", "admitted") == 2
    assert _counted(decisions, "grab", "envelope_empty") == 3  # no database work for these
    assert _counted(decisions, "grab", "already_grabbed") == 1
    got = sum(_balance(session_factory, f"tg:{t['id']}", shop_id) for t in tappers)
    assert got == 200


def test_daily_is_decided_by_the_daily_gate(
    kinsave: httpx.Client,
    session_factory: sessionmaker[Session],
    bot_api: BotApiStandIn,
    decisions: dict[tuple[str, str], float],
) -> None:
    shop_id = _shop_with_credit(session_factory, {}, daily=True)
    cousin = user(30_001, "表哥")
    for _ in range(3):
        assert deliver(kinsave, message_update(cousin, "/daily")).status_code == 200
    replies = [call.params["text"] for call in bot_api.of("sendMessage")]
    assert replies == ["今日红包：¥0.88 已到账！"] + ["今天已经领过了，明天再来"] * 2
    assert _counted(decisions, "daily", "admitted") == 1
    assert _counted(decisions, "daily", "already_claimed_today") == 2
    assert _balance(session_factory, "tg:30001", shop_id) == 88


def test_a_replayed_daily_update_claims_nothing_and_says_nothing(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    shop_id = _shop_with_credit(session_factory, {}, daily=True)
    update = message_update(user(30_002, "Niece", "en"), "/daily")
    deliver(kinsave, update)
    deliver(kinsave, update)  # Telegram delivering it again
    assert [c.params["text"] for c in bot_api.of("sendMessage")] == ["Today's envelope: ¥0.88!"]
    assert _balance(session_factory, "tg:30002", shop_id) == 88
