"""Pure: share codes and the password token that carries one through any host's copy and paste.

A code is 11 characters of base62 drawn from a CSPRNG (never derived from an id). The token wraps it
in one delimiter on both sides, e.g. `￥K7pQ2mX9aB1￥`, because hosts that block links still let
text through, and shoppers paste it with whatever noise the host adds around it.

Reading pasted text: the first run of exactly 11 base62 characters with the same delimiter on both
sides wins. Delimiters: `￥ ¥ € ¢ ₤ ₴ $ ! ！ # % @ ( )`. Two deliberate equivalences, because input
methods and fonts swap them: `￥`/`¥` and `!`/`！` pair with each other. `(` also closes with `)`,
so `(K7pQ2mX9aB1)` reads as people would expect; `(x(` and `)x)` still count. Only the first
MAX_TEXT_LENGTH characters are read, so any input is answered in bounded time.
"""

import re
import secrets
import string

CODE_LENGTH = 11
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
DELIMITERS = "￥¥€¢₤₴$!！#%@()"
DEFAULT_DELIMITER = "￥"
MAX_TEXT_LENGTH = 20_000

_CODE = f"[0-9A-Za-z]{{{CODE_LENGTH}}}"
_CODE_ONLY = re.compile(f"{_CODE}")
# Alternatives in one pattern so that re.search returns the leftmost token of any kind.
_TOKEN = re.compile(
    f"[￥¥]({_CODE})[￥¥]"
    f"|[!！]({_CODE})[!！]"
    rf"|\(({_CODE})\)"
    rf"|([€¢₤₴$#%@()])({_CODE})\4"
)


def new_code() -> str:
    """A fresh random code: 62**11 (about 2**65) possibilities, unguessable and unlinkable."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def is_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and _CODE_ONLY.fullmatch(text) is not None


def format_token(code: str, delimiter: str = DEFAULT_DELIMITER) -> str:
    """`￥code￥` (or another delimiter; `(` is closed with `)`)."""
    if not is_code(code):
        raise ValueError("not a share code")
    if delimiter not in DELIMITERS:
        raise ValueError(f"unknown delimiter {delimiter!r}")
    closing = ")" if delimiter == "(" else delimiter
    return f"{delimiter}{code}{closing}"


def find_code(text: str) -> str | None:
    """The code of the first token in `text`, or None. Never raises on any str."""
    match = _TOKEN.search(text[:MAX_TEXT_LENGTH])
    if match is None:
        return None
    return next(group for i, group in enumerate(match.groups(), 1) if group and i != 4)


def handle_code(handle: str) -> str | None:
    """An attribution handle is either a bare code or pasted text holding a token."""
    handle = handle.strip()
    return handle if is_code(handle) else find_code(handle)
