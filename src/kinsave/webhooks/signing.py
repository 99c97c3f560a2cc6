"""Webhook signatures: pure, shared by kinsave (signing) and the store (verifying).

Header: ``Kinsave-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``.
The timestamp is signed with the body so that a captured request cannot be replayed outside the
tolerance window; a receiver should also drop repeated `Kinsave-Event-Id`s, as delivery is at
least once. Several ``v1=`` entries may appear (secret rotation); any one matching is enough.
"""

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
