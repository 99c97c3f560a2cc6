"""Pure checks on what Telegram sends: the webhook's secret token, the Mini App's start param."""

import hmac
import re

# A share code as it travels in startapp (Telegram allows A-Z a-z 0-9 _ - up to 512 characters;
# ours are shorter): anything else opens the Mini App at home, never a path of the sender's.
_SHARE_CODE = re.compile(r"[A-Za-z0-9_-]{4,64}", re.ASCII)


def secret_token_matches(received: str, expected: str) -> bool:
    """Constant-time comparison of the X-Telegram-Bot-Api-Secret-Token header."""
    return hmac.compare_digest(received.encode(), expected.encode())


def mini_app_location(start_param: str) -> str:
    """Where the Mini App opened outside Telegram (no initData to sign in with) sends a browser:
    the share's short link for a share code, else the mini app."""
    if _SHARE_CODE.fullmatch(start_param):
        return f"/s/{start_param}"
    return "/app"
