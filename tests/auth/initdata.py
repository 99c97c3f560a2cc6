"""Build initData the way Telegram does, for tests (an independent re-implementation)."""

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _lines(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields))


def user_fields(user_id: int, auth_date: int, **extra: str) -> dict[str, str]:
    user = {"id": user_id, "first_name": "Li", "last_name": "Hua", "username": "lihua"}
    return {
        "auth_date": str(auth_date),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        **extra,
    }


def with_hash(fields: dict[str, str], bot_token: str) -> str:
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, _lines(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def with_signature(fields: dict[str, str], bot_id: int, key: Ed25519PrivateKey) -> str:
    signature = key.sign(f"{bot_id}:WebAppData\n{_lines(fields)}".encode())
    encoded = base64.urlsafe_b64encode(signature).decode().rstrip("=")
    return urlencode({**fields, "signature": encoded})
