"""Who is signed in to the store: the shopper id kinsave gave the store when the shopper linked
it, kept in the store's own session cookie, signed so that nobody can type in someone else's id.

The signing key is derived from the store's API key (secret, and the same after a restart).
"""

import hashlib
import hmac

SHOPPER_COOKIE = "store_shopper"


def session_key(store_key: str) -> bytes:
    return hmac.new(store_key.encode(), b"kinsave-demo-store-session", hashlib.sha256).digest()


def sign(key: bytes, shopper_id: str) -> str:
    mac = hmac.new(key, shopper_id.encode(), hashlib.sha256).hexdigest()
    return f"{shopper_id}.{mac}"


def verify(key: bytes, cookie: str | None) -> str | None:
    """The shopper id of a cookie this store signed, else None."""
    if not cookie:
        return None
    shopper_id, _, mac = cookie.rpartition(".")
    if not shopper_id:
        return None
    expected = sign(key, shopper_id).rpartition(".")[2]
    return shopper_id if hmac.compare_digest(expected.encode(), mac.encode()) else None
