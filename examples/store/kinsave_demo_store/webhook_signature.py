"""Checking kinsave's webhook signatures: kinsave's own client package does it (kinsave.client),
so a store copies nothing but that package. The scheme is in kinsave's docs/webhooks.md."""

from kinsave.client.webhooks import (
    REPLAY_WINDOW_SECONDS,
    SIGNATURE_HEADER,
    SignatureRefused,
    SignedHeader,
    expected_signature,
    parse_header,
    verify_signature,
)

__all__ = [
    "REPLAY_WINDOW_SECONDS",
    "SIGNATURE_HEADER",
    "SignatureRefused",
    "SignedHeader",
    "expected_signature",
    "parse_header",
    "verify_signature",
]
