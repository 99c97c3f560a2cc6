"""Webhook signatures: pure, shared by kinsave (signing) and the store (verifying).

Header: ``Kinsave-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``.
The timestamp is signed with the body so that a captured request cannot be replayed outside the
tolerance window; a receiver should also drop repeated `Kinsave-Event-Id`s, as delivery is at
least once. Several ``v1=`` entries may appear (secret rotation); any one matching is enough.

Every delivery also carries the Standard Webhooks headers (https://www.standardwebhooks.com):
``webhook-id`` (the event id), ``webhook-timestamp`` and ``webhook-signature: v1,<base64
HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>``, whose key is the secret's UTF-8 bytes, so a store
in any language verifies with an existing library (docs/webhooks.md shows how).
"""

import base64
import hashlib
import hmac

HEADER = "Kinsave-Signature"
DEFAULT_TOLERANCE = 300


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The Kinsave-Signature header value for this body sent at this unix time."""
    return f"t={timestamp},v1={_digest(secret, timestamp, _as_bytes(body))}"


def verify(
    secret: str,
    header: str,
    body: bytes | str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """True when the header signs exactly this body and its timestamp is within the window.

    Never raises on malformed headers: anything unparseable is simply not verified.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, _as_bytes(body))
    return any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates)


def standard_webhook_headers(
    secret: str, message_id: str, timestamp: int, body: bytes | str
) -> dict[str, str]:
    """The Standard Webhooks headers for this body (the key: the secret's UTF-8 bytes)."""
    message = f"{message_id}.{timestamp}.".encode() + _as_bytes(body)
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
