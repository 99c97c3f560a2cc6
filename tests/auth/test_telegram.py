"""initData verification (pure): real Telegram-signed vectors, generated vectors, and fuzzing.

The Ed25519 vectors below were signed by Telegram itself: they verify against the public keys
Telegram publishes, whose private halves only Telegram holds. Telegram's docs publish no complete
signed example, so they come from public test suites: PRODUCTION_VECTOR (bot 7342037359) and
HMAC_VECTOR from Telegram-Mini-Apps/telegram-apps (packages/init-data-node, shared.test.ts and
validate.test.ts); TEST_ENV_VECTOR (bot 2201403107, Telegram's test environment) from another
public repository's test file. HMAC_VECTOR's bot token is that library's fake token, so it is a
cross-implementation vector, not a Telegram-issued one.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.auth import telegram
from kinsave.auth.telegram import InitDataRejected, verify_init_data
from tests.auth.initdata import user_fields, with_hash, with_signature

PRODUCTION_VECTOR = (
    "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22"
    "%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22"
    "%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22"
    "%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13"
    "LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private"
    "&auth_date=1733584787&signature=zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D"
    "0Ao2mBrSgEk4maLSdv6MLIlADQ&hash=2174df5b000556d044f3f020384e879c8efcab55ddea2ced4eb752e93e7080d6"
)
PRODUCTION_BOT_ID = 7342037359
TEST_ENV_VECTOR = (
    "user=%7B%22id%22%3A5001146408%2C%22first_name%22%3A%22H%22%2C%22last_name%22%3A%22Test%22"
    "%2C%22language_code%22%3A%22en%22%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22"
    "https%3A%5C%2F%5C%2Fa-ttgme.stel.com%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2FOhOF3_f4QY8PWlRZI2aG2"
    "sy66VMZw_ys9efvhvle_eCWj2zP8Vbb6pLs5d1Lij1w.svg%22%7D&chat_instance=3909909964740758046"
    "&chat_type=sender&auth_date=1759930604&signature=i8jsEp2yuO2tlldICxBscMG3xX-zUPznGZVsDNy0tz9G"
    "RVx9vxBWjTEt4BSMSa42TaOO0r2yGWBN0a1v9bVRAg&hash=1582635705fd71ffb8bee16062f38965550b5d9a4f85f"
    "387b2ea72067c57d45a"
)
TEST_ENV_BOT_ID = 2201403107
HMAC_VECTOR = (
    "auth_date=1&can_send_after=10000&chat=%7B%22id%22%3A1%2C%22type%22%3A%22group%22%2C%22title"
    "%22%3A%22chat-title%22%2C%22photo_url%22%3A%22group%22%2C%22username%22%3A%22my-chat%22%7D"
    "&chat_instance=888&chat_type=sender&hash=47cfa22e72b887cba90c9cb833c5ea0f599975b6ce7193741844"
    "b5c4a4228b40&query_id=QUERY&receiver=%7B%22added_to_attachment_menu%22%3Afalse%2C%22allows_"
    "write_to_pm%22%3Atrue%2C%22first_name%22%3A%22receiver-first-name%22%2C%22id%22%3A991%2C%22"
    "is_bot%22%3Afalse%2C%22is_premium%22%3Atrue%2C%22language_code%22%3A%22ru%22%2C%22last_name"
    "%22%3A%22receiver-last-name%22%2C%22photo_url%22%3A%22receiver-photo%22%2C%22username%22%3A"
    "%22receiver-username%22%7D&start_param=debug&user=%7B%22added_to_attachment_menu%22%3Afalse"
    "%2C%22allows_write_to_pm%22%3Afalse%2C%22first_name%22%3A%22user-first-name%22%2C%22id%22%3A"
    "222%2C%22is_bot%22%3Atrue%2C%22is_premium%22%3Afalse%2C%22language_code%22%3A%22en%22%2C%22"
    "last_name%22%3A%22user-last-name%22%2C%22photo_url%22%3A%22user-photo%22%2C%22username%22%3A"
    "%22user-username%22%7D"
)
HMAC_VECTOR_TOKEN = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
TOKEN = "7000000001:AAtest-bot-token-for-kinsave-tests"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def _code(init_data: str, **kwargs: object) -> str:
    with pytest.raises(InitDataRejected) as rejected:
        verify_init_data(init_data, **kwargs)  # type: ignore[arg-type]
    return rejected.value.code


class TestTelegramSignedVectors:
    def test_production_signature(self):
        user = verify_init_data(
            PRODUCTION_VECTOR, now=_at(1733584787 + 60), bot_id=PRODUCTION_BOT_ID
        )
        assert (user.user_id, user.first_name, user.username) == (
            279058397,
            "Vladislav + - ? /",
            "vdkfrost",
        )

    def test_test_environment_signature(self):
        user = verify_init_data(
            TEST_ENV_VECTOR,
            now=_at(1759930604 + 60),
            bot_id=TEST_ENV_BOT_ID,
            public_key_hex=telegram.TEST_PUBLIC_KEY,
        )
        assert user.user_id == 5001146408

    def test_signature_is_bound_to_bot_key_and_content(self):
        now = _at(1733584787 + 60)
        assert _code(PRODUCTION_VECTOR, now=now, bot_id=PRODUCTION_BOT_ID + 1) == (
            "init_data_invalid"
        )
        assert _code(
            PRODUCTION_VECTOR,
            now=now,
            bot_id=PRODUCTION_BOT_ID,
            public_key_hex=telegram.TEST_PUBLIC_KEY,
        ) == ("init_data_invalid")
        tampered = PRODUCTION_VECTOR.replace("279058397", "279058398")
        assert _code(tampered, now=now, bot_id=PRODUCTION_BOT_ID) == "init_data_invalid"

    def test_real_vector_is_expired_after_24_hours(self):
        late = _at(1733584787) + timedelta(hours=24, seconds=1)
        assert _code(PRODUCTION_VECTOR, now=late, bot_id=PRODUCTION_BOT_ID) == "init_data_expired"

    def test_hmac_vector_from_another_implementation(self):
        user = verify_init_data(HMAC_VECTOR, now=_at(61), bot_token=HMAC_VECTOR_TOKEN)
        assert user.user_id == 222
        assert _code(HMAC_VECTOR, now=_at(61), bot_token=HMAC_VECTOR_TOKEN + "A") == (
            "init_data_invalid"
        )


class TestGeneratedVectors:
    def test_hash_with_our_token(self):
        auth_date = int(NOW.timestamp())
        init_data = with_hash(user_fields(42, auth_date, start_param="grandma"), TOKEN)
        user = verify_init_data(init_data, now=NOW, bot_token=TOKEN)
        assert (user.user_id, user.display_name) == (42, "Li Hua")
        another_bots = with_hash(user_fields(42, auth_date), TOKEN + "x")
        assert _code(another_bots, now=NOW, bot_token=TOKEN) == "init_data_invalid"

    def test_freshness_edges(self):
        auth_date = int(NOW.timestamp()) - 24 * 3600
        init_data = with_hash(user_fields(42, auth_date), TOKEN)
        assert verify_init_data(init_data, now=NOW, bot_token=TOKEN).user_id == 42
        later = NOW + timedelta(seconds=1)
        assert _code(init_data, now=later, bot_token=TOKEN) == "init_data_expired"
        future = with_hash(user_fields(42, int(NOW.timestamp()) + 3600), TOKEN)
        assert _code(future, now=NOW, bot_token=TOKEN) == "init_data_invalid"

    def test_ed25519_with_a_generated_key(self):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        init_data = with_signature(user_fields(7, int(NOW.timestamp())), 123, key)
        assert verify_init_data(init_data, now=NOW, bot_id=123, public_key_hex=public).user_id == 7
        assert _code(init_data, now=NOW, bot_id=123) == "init_data_invalid"  # Telegram's key

    def test_unsigned_or_incomplete_data_refused(self):
        fresh = int(NOW.timestamp())
        assert _code("auth_date=1&user=%7B%7D", now=NOW, bot_token=TOKEN) == "init_data_invalid"
        no_user = with_hash({"auth_date": str(fresh)}, TOKEN)
        assert _code(no_user, now=NOW, bot_token=TOKEN) == "init_data_invalid"
        bad_id = with_hash({"auth_date": str(fresh), "user": '{"id":"42"}'}, TOKEN)
        assert _code(bad_id, now=NOW, bot_token=TOKEN) == "init_data_invalid"
        doubled = with_hash(user_fields(42, fresh), TOKEN) + "&auth_date=" + str(fresh)
        assert _code(doubled, now=NOW, bot_token=TOKEN) == "init_data_invalid"

    def test_no_key_configured_proves_nothing(self):
        init_data = with_hash(user_fields(42, int(NOW.timestamp())), TOKEN)
        assert _code(init_data, now=NOW) == "init_data_invalid"


def _refused(init_data: str) -> str:
    """The refusal's reason; fails the test if the data were accepted (or crashed the check)."""
    with pytest.raises(InitDataRejected) as rejected:
        verify_init_data(init_data, now=NOW, bot_token=TOKEN, bot_id=7000000001)
    assert rejected.value.code == "init_data_invalid"  # forged data is never merely "expired"
    return str(rejected.value)


def _fresh_user(**extra: str) -> dict[str, str]:
    """Everything a genuine sign-in carries (a valid user, a fresh auth_date) but the proof: only
    the hash/signature check stands between these fields and a session."""
    return user_fields(42, int(NOW.timestamp()), **extra)


def _forged(fields: dict[str, str], digest: str) -> str:
    return urlencode({**fields, "hash": digest, "signature": digest})


NOT_SIGNED = "initData is not signed by Telegram for this bot"


class TestFuzz:
    """Forged input of every shape is refused. Each test also forges a sign-in that is complete
    but for its proof and asserts the refusal names the missing proof: a hash check that
    accepted anything would fail every one of these tests."""

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def test_arbitrary_unicode(self, text):
        _refused(text)
        assert _refused(_forged(_fresh_user(start_param=text), text)) == NOT_SIGNED

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=300))
    def test_malformed_percent_encodings(self, raw):
        percent = "".join(f"%{b:02X}" for b in raw)
        _refused("user=" + percent + "&hash=00&auth_date=1")
        genuine_but_unsigned = urlencode(_fresh_user())
        reason = _refused(f"{genuine_but_unsigned}&start_param={percent}&hash={raw.hex()}")
        try:
            raw.decode()
        except UnicodeDecodeError:
            return  # refused as a broken encoding before any check
        assert reason == NOT_SIGNED

    @settings(max_examples=200, deadline=None)
    @given(
        st.dictionaries(
            st.text(min_size=1, max_size=20), st.text(max_size=50), min_size=0, max_size=10
        ),
        st.text(alphabet="0123456789abcdef", max_size=64),
    )
    def test_well_formed_but_forged(self, fields, digest):
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items())
        _refused(f"{query}&hash={digest}&signature={digest}")
        extra = {k: v for k, v in fields.items() if k not in ("hash", "signature")}
        assert _refused(_forged({**extra, **_fresh_user()}, digest)) == NOT_SIGNED

    @pytest.mark.parametrize("size", [16_384, 16_385, 1_000_000])
    def test_huge_inputs(self, size):
        _refused("a" * size)
        _refused("a=" + "%" * size)
        forged = _forged(_fresh_user(), "0" * 64)
        padded = forged + "&start_param=" + "a" * (size - len(forged) - len("&start_param="))
        assert len(padded) == size
        reason = _refused(padded)
        if size <= telegram.MAX_INIT_DATA_LENGTH:
            assert reason == NOT_SIGNED
