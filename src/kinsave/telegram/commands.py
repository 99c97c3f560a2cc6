"""Parsing the bot's commands. Pure: no database, no web.

`/hongbao 10 5 恭喜发财` is ¥10.00 in 5 lucky shares with a greeting; amounts are in yuan with
at most two decimals (`8.88`), turned into fen here.
"""

import re
from dataclasses import dataclass

_AMOUNT = re.compile(r"^\d{1,7}(\.\d{1,2})?$", re.ASCII)
_SHARES = re.compile(r"^\d{1,5}$", re.ASCII)
MAX_GREETING = 200


@dataclass(frozen=True)
class HongbaoCommand:
    total: int  # fen
    shares: int
    greeting: str


class CommandRefused(Exception):
    """A command the bot cannot act on; `code` names the reply text (texts.py)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def command_of(text: str) -> tuple[str, str]:
    """("/hongbao", "10 5 恭喜发财") from "/hongbao@KinBot 10 5 恭喜发财"; ("", text) otherwise."""
    if not text.startswith("/"):
        return "", text
    head, _, rest = text.partition(" ")
    return head.split("@", 1)[0].lower(), rest.strip()


def yuan_to_fen(raw: str) -> int:
    if not _AMOUNT.match(raw):
        raise CommandRefused("bad_amount")
    whole, _, cents = raw.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def parse_hongbao(arguments: str) -> HongbaoCommand:
    """The envelope `/hongbao AMOUNT SHARES [greeting]` asks for; CommandRefused("hongbao_usage"
    | "bad_amount") when it cannot be read."""
    parts = arguments.split(maxsplit=2)
    if len(parts) < 2:
        raise CommandRefused("hongbao_usage")
    if not _SHARES.match(parts[1]):
        raise CommandRefused("hongbao_usage")
    total = yuan_to_fen(parts[0])
    greeting = parts[2].strip()[:MAX_GREETING] if len(parts) == 3 else ""
    return HongbaoCommand(total=total, shares=int(parts[1]), greeting=greeting)


_LOCAL_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class RemindCommand:
    """`/remind off`, or `/remind 08:30 [Europe/London]` (the time zone defaults to China's)."""

    off: bool
    local_time: str = ""
    timezone: str = DEFAULT_TIMEZONE


def parse_remind(arguments: str) -> RemindCommand:
    """CommandRefused("remind_usage") unless it reads as off or a time (and a known zone)."""
    parts = arguments.split()
    if parts and parts[0].lower() in ("off", "stop", "关闭", "取消"):
        return RemindCommand(off=True)
    if not 1 <= len(parts) <= 2:
        raise CommandRefused("remind_usage")
    matched = _LOCAL_TIME.match(parts[0])
    if matched is None:
        raise CommandRefused("remind_usage")
    timezone = parts[1] if len(parts) == 2 else DEFAULT_TIMEZONE
    if timezone not in _known_zones():
        raise CommandRefused("remind_usage")
    local_time = f"{int(matched.group(1)):02d}:{matched.group(2)}"
    return RemindCommand(off=False, local_time=local_time, timezone=timezone)


def _known_zones() -> set[str]:
    from zoneinfo import available_timezones

    return available_timezones()
