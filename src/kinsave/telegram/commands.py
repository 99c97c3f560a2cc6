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
