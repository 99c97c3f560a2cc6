"""The daily reminder: opt in and out from the private chat; sent once per local day at the
chosen time in the chosen zone, by `kinsave telegram send-reminders`."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from kinsave.cli import app
from kinsave.config import get_settings
from kinsave.db import unit_of_work
from kinsave.telegram import commands, reminders
from tests.telegram_bot.conftest import BOT_TOKEN, deliver
from tests.telegram_bot.standin import BotApiStandIn
from tests.telegram_bot.updates import GROUP, message_update, user

AUNT = user(777, "Aunt May", "en")
UNCLE = user(888, "舅舅", "zh-hans")


def _replies(bot_api: BotApiStandIn) -> list[str]:
    return [call.params["text"] for call in bot_api.of("sendMessage")]


def _due(factory: sessionmaker[Session], now: datetime) -> list[tuple[int, str]]:
    with unit_of_work(factory) as session:
        return [(m.chat_id, m.text) for m in reminders.due_reminders(session, now)]


def test_opt_in_then_once_a_local_day_then_opt_out(
    kinsave: httpx.Client, session_factory: sessionmaker[Session], bot_api: BotApiStandIn
) -> None:
    deliver(kinsave, message_update(AUNT, "/remind 08:30 Europe/London"))
    deliver(kinsave, message_update(UNCLE, "/remind 8:05"))  # China's time by default
    deliver(kinsave, message_update(UNCLE, "/remind 25:00"))
    deliver(kinsave, message_update(UNCLE, "/remind 08:00", chat=GROUP))
    assert _replies(bot_api) == [
        "Done: a reminder every day at 08:30 (Europe/London). Stop: /remind off",
        "好的，每天 08:05（Asia/Shanghai）提醒你领红包。关闭：/remind off",
        "每日提醒：/remind 08:30 [时区，如 Asia/Shanghai]；关闭：/remind off",
        "请私聊我发 /daily 领取每日红包",
    ]
    # 00:04 UTC is 08:04 in Shanghai and 00:04 in London: nobody is due yet.
    assert _due(session_factory, datetime(2027, 1, 5, 0, 4, tzinfo=UTC)) == []
    uncle = _due(session_factory, datetime(2027, 1, 5, 0, 5, tzinfo=UTC))
    assert uncle == [(888, "🧧 今天的红包可以领了：发 /daily 领取（关闭提醒：/remind off）")]
    assert _due(session_factory, datetime(2027, 1, 5, 8, 0, tzinfo=UTC)) == []
    aunt = _due(session_factory, datetime(2027, 1, 5, 8, 30, tzinfo=UTC))
    assert [chat for chat, _ in aunt] == [777] and aunt[0][1].startswith("🧧 Today's")
    # 16:00 UTC is already the next day in Shanghai, but before 08:05 there.
    assert _due(session_factory, datetime(2027, 1, 5, 16, 0, tzinfo=UTC)) == []
    next_day = _due(session_factory, datetime(2027, 1, 6, 0, 5, tzinfo=UTC))
    assert [chat for chat, _ in next_day] == [888]

    deliver(kinsave, message_update(UNCLE, "/remind off"))
    assert _replies(bot_api)[-1] == "每日提醒已关闭"
    assert _due(session_factory, datetime(2027, 1, 7, 12, 0, tzinfo=UTC)) == [(777, aunt[0][1])]


def test_send_reminders_command_sends_through_the_bot_api(
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    kinsave: httpx.Client,
    session_factory: sessionmaker[Session],
    standin_server: tuple[BotApiStandIn, str],
    bot_api: BotApiStandIn,
) -> None:
    deliver(kinsave, message_update(AUNT, "/remind 00:00 UTC"))
    bot_api.calls.clear()
    monkeypatch.setenv("KINSAVE_TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("KINSAVE_TELEGRAM_API_URL", standin_server[1])
    get_settings.cache_clear()
    first = cli.invoke(app, ["telegram", "send-reminders"])
    second = cli.invoke(app, ["telegram", "send-reminders"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "1 reminders sent" in first.output and "0 reminders sent" in second.output
    (sent,) = bot_api.of("sendMessage")
    assert int(sent.params["chat_id"]) == 777


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("off", commands.RemindCommand(off=True)),
        ("7:00", commands.RemindCommand(off=False, local_time="07:00")),
        ("23:59 America/New_York", commands.RemindCommand(False, "23:59", "America/New_York")),
    ],
)
def test_parse_remind(arguments: str, expected: commands.RemindCommand) -> None:
    assert commands.parse_remind(arguments) == expected


@pytest.mark.parametrize("arguments", ["", "7", "24:00", "07:60", "07:00 Mars/Base", "１:00"])
def test_parse_remind_refuses(arguments: str) -> None:
    with pytest.raises(commands.CommandRefused):
        commands.parse_remind(arguments)
