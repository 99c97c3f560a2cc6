"""Telegram Mini Apps: verify `initData` exactly as Telegram documents it. Pure: no db, no web.

Two checks, either of which proves the data came from Telegram for our bot
(core.telegram.org/bots/webapps, "Validating data received via the Mini App" and
"Validating data for Third-Party Use"):
- `hash`: hex HMAC-SHA256(key=HMAC-SHA256(key="WebAppData", msg=bot_token), msg=data_check_string),
  where data_check_string is every received field but `hash`, sorted by key, as `key=value`
  joined with "\\n";
- `signature`: base64url Ed25519 signature, by Telegram's public key, of
  f"{bot_id}:WebAppData\\n" + the same sorted lines without `hash` and `signature`.
Then `auth_date` must be recent. Anything malformed is refused with InitDataRejected, never a crash.
"""

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PRODUCTION_PUBLIC_KEY = "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d"
TEST_PUBLIC_KEY = "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec"
MAX_INIT_DATA_LENGTH = 16_384  # real initData is well under 2 KB
MAX_FIELDS = 64
# Telegram's clock and ours may differ a little; further in the future than this is forged.
FUTURE_SKEW = timedelta(minutes=5)


class InitDataRejected(Exception):
    """initData that does not verify. `code` is init_data_invalid or init_data_expired."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class TelegramUser:
    user_id: int
    first_name: str
    last_name: str
    username: str | None
    auth_date: datetime

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return (name or self.username or f"tg:{self.user_id}")[:100]


def _invalid(reason: str) -> InitDataRejected:
    return InitDataRejected("init_data_invalid", reason)


def parse_init_data(init_data: str) -> dict[str, str]:
    """The fields of an initData query string; refuses duplicates and broken encodings."""
    if not isinstance(init_data, str) or not init_data or len(init_data) > MAX_INIT_DATA_LENGTH:
        raise _invalid("initData is empty or too long")
    try:
        pairs = parse_qsl(
            init_data,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (ValueError, UnicodeError) as error:
        raise _invalid("initData is not a well-formed query string") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _invalid("initData repeats a field")
    return fields


def data_check_string(fields: dict[str, str], *, exclude: tuple[str, ...] = ("hash",)) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key not in exclude)


def hash_matches(fields: dict[str, str], bot_token: str) -> bool:
    received = fields.get("hash", "")
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret_key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.encode())


def signature_matches(fields: dict[str, str], bot_id: int, public_key_hex: str) -> bool:
    encoded = fields.get("signature", "")
    try:
        signature = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, binascii.Error):
        return False
    if len(signature) != 64:
        return False
    message = f"{bot_id}:WebAppData\n" + data_check_string(fields, exclude=("hash", "signature"))
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            signature, message.encode()
        )
    except InvalidSignature:
        return False
    return True


def verify_init_data(
    init_data: str,
    *,
    now: datetime,
    bot_token: str | None = None,
    bot_id: int | None = None,
    public_key_hex: str = PRODUCTION_PUBLIC_KEY,
    max_age: timedelta = timedelta(hours=24),
) -> TelegramUser:
    """The Telegram user in `init_data`, once its hash (with the bot token) or its Ed25519
    signature (with the bot id) verifies and `auth_date` is within `max_age` of `now`.

    Raises InitDataRejected("init_data_invalid" | "init_data_expired").
    """
    fields = parse_init_data(init_data)
    proven = (bot_token is not None and "hash" in fields and hash_matches(fields, bot_token)) or (
        bot_id is not None
        and "signature" in fields
        and signature_matches(fields, bot_id, public_key_hex)
    )
    if not proven:
        raise _invalid("initData is not signed by Telegram for this bot")
    auth_date = _auth_date(fields)
    if auth_date > now + FUTURE_SKEW:
        raise _invalid("auth_date is in the future")
    if now - auth_date > max_age:
        raise InitDataRejected("init_data_expired", "initData is too old: open the mini app again")
    return _user(fields, auth_date)


def _auth_date(fields: dict[str, str]) -> datetime:
    raw = fields.get("auth_date", "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise _invalid("auth_date is missing or not a unix time")
    return datetime.fromtimestamp(int(raw), UTC)


def _user(fields: dict[str, str], auth_date: datetime) -> TelegramUser:
    try:
        user = json.loads(fields.get("user", ""))
    except (ValueError, RecursionError) as error:  # deep nesting, even when signed, is refused
        raise _invalid("user is not JSON") from error
    if not isinstance(user, dict):
        raise _invalid("user is not an object")
    user_id = user.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**63:
        raise _invalid("user.id is not a positive integer")
    names = [user.get(k) for k in ("first_name", "last_name", "username")]
    if any(n is not None and not isinstance(n, str) for n in names):
        raise _invalid("user names are not strings")
    first, last, username = (n or "" for n in names)
    return TelegramUser(
        user_id=user_id,
        first_name=first,
        last_name=last,
        username=username or None,
        auth_date=auth_date,
    )
