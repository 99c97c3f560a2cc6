"""Checking kinsave's webhook signatures, as a store must. Pure: no I/O; the clock is read only
by `verify_webhook` when it is not given `now`.

The scheme is documented (docs/webhooks.md), so a store in any language can do the same. Header:
``Kinsave-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>``; several
``v1=`` entries may appear while a secret is being rotated, and any one matching is enough.
"""

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from kinsave.client.models import WebhookEvent

SIGNATURE_HEADER = "Kinsave-Signature"
# A signed request older (or newer) than this is refused, so a captured request is only worth
# replaying for five minutes; within them the receiver remembers what it has seen.
REPLAY_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class SignedHeader:
    timestamp: int
    signatures: tuple[str, ...]


class SignatureRefused(ValueError):
    """Why a webhook was refused, as a stable code: `bad_signature`, `stale_timestamp` (or
    `invalid_payload` from `verify_webhook`)."""

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


@dataclass(frozen=True)
class VerifiedWebhook:
    """A delivery whose signature verified: the event (id, event, created_at, data), when it was
    signed, the signature that matched (remember it for the replay window), and the delivery id."""

    event: WebhookEvent
    signed: SignedHeader
    delivery_id: str


def header_value(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case (a plain dict of headers as well as Starlette's)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    window: int = REPLAY_WINDOW_SECONDS,
) -> VerifiedWebhook:
    """Verify a delivery as received (its headers and its raw body, not re-serialised JSON) and
    return its event; raises SignatureRefused (`bad_signature`, `stale_timestamp`, or
    `invalid_payload` when a signed body is not a kinsave event)."""
    header = header_value(headers, SIGNATURE_HEADER)
    signed = verify_signature(secret, header, body, time.time() if now is None else now, window)
    try:
        event = WebhookEvent.model_validate_json(body)
    except ValidationError as error:
        raise SignatureRefused("invalid_payload") from error
    return VerifiedWebhook(event, signed, header_value(headers, "Kinsave-Delivery-Id"))
