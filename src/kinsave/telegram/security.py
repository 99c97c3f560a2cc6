"""The webhook's secret token check. Pure."""

import hmac


def secret_token_matches(received: str, expected: str) -> bool:
    """Constant-time comparison of the X-Telegram-Bot-Api-Secret-Token header."""
    return hmac.compare_digest(received.encode(), expected.encode())
