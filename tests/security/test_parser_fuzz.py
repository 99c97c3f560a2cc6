"""Fuzzing the gaps the existing hypothesis tests leave: a *correctly signed* Telegram initData
whose `user` field is hostile (the signature passes, so only the user parsing stands between the
input and a crash), and share-token parsing of malformed encodings and huge inputs."""

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.auth.telegram import InitDataRejected, verify_init_data
from kinsave.sharing import tokens
from tests.auth.initdata import with_hash

TOKEN = "7000000001:AAFuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzz"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
hostile_users = st.one_of(
    st.text(max_size=200),  # not JSON at all
    json_values.map(json.dumps),  # JSON, any shape
    st.fixed_dictionaries({"id": json_values}, optional={"first_name": json_values}).map(
        json.dumps
    ),
    st.integers(min_value=5, max_value=5000).map(lambda depth: "[" * depth + "]" * depth),
)


@settings(max_examples=300, deadline=None)
@given(hostile_users)
def test_signed_init_data_with_hostile_user_never_crashes(user):
    fields = {"auth_date": str(int(NOW.timestamp())), "user": user}
    try:
        verified = verify_init_data(with_hash(fields, TOKEN), now=NOW, bot_token=TOKEN)
    except InitDataRejected as rejected:
        assert rejected.code == "init_data_invalid"
        return
    assert isinstance(verified.user_id, int) and verified.user_id > 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_tokens_from_undecodable_bytes(raw):
    text = raw.decode("utf-8", "surrogateescape")
    found = tokens.find_code(text)
    assert found is None or tokens.is_code(found)


def test_huge_token_inputs_are_bounded():
    assert tokens.find_code("￥" * 5_000_000) is None
    assert tokens.find_code("x" * tokens.MAX_TEXT_LENGTH + "￥K7pQ2mX9aB1￥") is None
    assert tokens.find_code("\ud800" * 100_000 + "￥K7pQ2mX9aB1￥") is None
