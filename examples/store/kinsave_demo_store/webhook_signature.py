"""Checking kinsave's webhook signatures, as a store must. Pure: no I/O, no clock of its own.

The store does not import kinsave: it follows the documented scheme (kinsave's docs/webhooks.md),
so a store in any language can do the same. Header:
``Kinsave-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>``; several
``v1=`` entries may appear while a secret is being rotated, and any one matching is enough.
"""

import hashlib
import hmac
from dataclasses import dataclass

SIGNATURE_HEADER = "Kinsave-Signature"
# A signed request older (or newer) than this is refused, so a captured request is only worth
# replaying for five minutes; within them the receiver remembers what it has seen.
REPLAY_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class SignedHeader:
    timestamp: int
    signatures: tuple[str, ...]


class SignatureRefused(ValueError):
    """Why a webhook was refused, as a stable code: `bad_signature` or `stale_timestamp`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_header(header: str) -> SignedHeader:
    """`t=...,v1=...[,v1=...]`; anything else is `bad_signature` (never an exception of its own)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureRefused("bad_signature")
    return SignedHeader(timestamp, tuple(signatures))


def expected_signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str, header: str, body: bytes, now: float, window: int = REPLAY_WINDOW_SECONDS
) -> SignedHeader:
    """The timestamp and the one signature that matched, when the header signs exactly `body`
    with `secret` within `window` seconds of `now`; otherwise raises SignatureRefused. The HMAC
    is checked first, so unsigned requests learn nothing about the window."""
    signed = parse_header(header)
    expected = expected_signature(secret, signed.timestamp, body).encode()
    matched = [s for s in signed.signatures if hmac.compare_digest(expected, s.encode())]
    if not matched:
        raise SignatureRefused("bad_signature")
    if abs(now - signed.timestamp) > window:
        raise SignatureRefused("stale_timestamp")
    return SignedHeader(signed.timestamp, (matched[0],))
