"""The pure signing module the demo store uses to verify kinsave's webhooks."""

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.webhooks.signing import sign, verify

SECRET = "whsec_test"
BODY = b'{"event":"order.paid","id":"evt_1"}'


class TestSignature:
    def test_round_trip(self):
        header = sign(SECRET, 1_700_000_000, BODY)
        assert header.startswith("t=1700000000,v1=")
        assert verify(SECRET, header, BODY, now=1_700_000_000)
        assert verify(SECRET, header, BODY.decode(), now=1_700_000_000)

    def test_tampered_body_or_wrong_secret(self):
        header = sign(SECRET, 1_700_000_000, BODY)
        assert not verify(SECRET, header, BODY + b" ", now=1_700_000_000)
        assert not verify("whsec_other", header, BODY, now=1_700_000_000)

    def test_replay_window_edges(self):
        header = sign(SECRET, 1_700_000_000, BODY)
        assert verify(SECRET, header, BODY, now=1_700_000_300)
        assert not verify(SECRET, header, BODY, now=1_700_000_301)
        assert verify(SECRET, header, BODY, now=1_699_999_700)
        assert not verify(SECRET, header, BODY, now=1_699_999_699)

    def test_timestamp_is_signed(self):
        header = sign(SECRET, 1_700_000_000, BODY)
        moved = header.replace("t=1700000000", "t=1700000100")
        assert not verify(SECRET, moved, BODY, now=1_700_000_100)

    def test_any_of_several_signatures(self):
        header = sign(SECRET, 1_700_000_000, BODY)
        rotated = header.replace("v1=", "v1=deadbeef,v1=")
        assert verify(SECRET, rotated, BODY, now=1_700_000_000)

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=300), st.binary(max_size=100))
    def test_malformed_headers_never_verify_or_crash(self, header, body):
        assert verify(SECRET, header, body, now=1_700_000_000) in (True, False)
        assert not verify(SECRET, header, body, now=1_700_000_000) or "v1=" in header
