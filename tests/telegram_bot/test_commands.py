"""The pure parts: reading /hongbao, the language of a language_code, yuan for people."""

import pytest

from kinsave.telegram import commands, texts
from kinsave.telegram.service import parse_grab_callback


@pytest.mark.parametrize(
    ("arguments", "total", "shares", "greeting"),
    [
        ("10 5 恭喜发财", 1000, 5, "恭喜发财"),
        ("8.88 3", 888, 3, ""),
        ("0.5 1 a  b", 50, 1, "a  b"),
    ],
)
def test_hongbao_reads_yuan_shares_and_greeting(
    arguments: str, total: int, shares: int, greeting: str
) -> None:
    assert commands.parse_hongbao(arguments) == commands.HongbaoCommand(total, shares, greeting)


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ("", "hongbao_usage"),
        ("10", "hongbao_usage"),
        ("10 five", "hongbao_usage"),
        ("10 -5", "hongbao_usage"),
        ("10 ５", "hongbao_usage"),
        ("1.234 5", "bad_amount"),
        ("-1 5", "bad_amount"),
        ("1e3 5", "bad_amount"),
        ("１０ 5", "bad_amount"),  # full-width digits are not read as money
    ],
)
def test_hongbao_refuses_what_it_cannot_read(arguments: str, code: str) -> None:
    with pytest.raises(commands.CommandRefused) as refused:
        commands.parse_hongbao(arguments)
    assert refused.value.code == code


def test_command_of_drops_the_bot_name() -> None:
    assert commands.command_of("/HongBao@KinsaveBot 10 5") == ("/hongbao", "10 5")
    assert commands.command_of("hello") == ("", "hello")


@pytest.mark.parametrize(
    ("code", "language"),
    [("zh-hans", "zh"), ("zh-CN", "zh"), ("ZH", "zh"), ("en", "en"), ("ru", "en"), (None, "en")],
)
def test_language_of(code: str | None, language: str) -> None:
    assert texts.language_of(code) == language


def test_yuan_and_callback_data() -> None:
    assert [texts.yuan(a) for a in (1, 100, 1234)] == ["0.01", "1.00", "12.34"]
    assert parse_grab_callback("grab:env_ab12:zh") == ("env_ab12", "zh")
    assert parse_grab_callback("grab:../x:zh") is None
    assert parse_grab_callback("other") is None
