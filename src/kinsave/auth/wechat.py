"""WeChat-style mini programs: exchange a login code for the user's openid via code2session.

The call goes over the network, so it runs before any database transaction is opened. The
session_key WeChat returns is dropped here: it is never stored, logged or sent on.
"""

from dataclasses import dataclass

import httpx

from kinsave.config import Settings
from kinsave.errors import KinsaveError, register_codes

register_codes(
    {
        "wechat_busy": 503,
        "wechat_code_invalid": 401,
        "wechat_rate_limited": 429,
        "wechat_high_risk_user": 403,
        "wechat_code_used": 401,
        "wechat_login_failed": 502,
        "wechat_unavailable": 503,
    }
)

# Every errcode code2session documents, mapped to our stable codes.
ERRCODES: dict[int, tuple[str, str]] = {
    -1: ("wechat_busy", "WeChat is busy; retry in a moment"),
    40029: ("wechat_code_invalid", "the login code is invalid"),
    45011: ("wechat_rate_limited", "too many logins for this user; retry in a minute"),
    40226: ("wechat_high_risk_user", "WeChat flags this user as high risk; login refused"),
    40163: ("wechat_code_used", "the login code was already used"),
}


@dataclass(frozen=True)
class WechatIdentity:
    """Who WeChat says the user is. Deliberately has no session_key field."""

    openid: str
    unionid: str | None
    appid: str


def exchange_code(settings: Settings, code: str) -> WechatIdentity:
    """Call code2session for `code`. Errors: not_found (not configured), the wechat_* codes."""
    if not settings.wechat_appid or not settings.wechat_secret:
        raise KinsaveError("not_found", "WeChat login is not configured")
    params = {
        "appid": settings.wechat_appid,
        "secret": settings.wechat_secret,
        "js_code": code,
        "grant_type": "authorization_code",
    }
    try:
        response = httpx.get(
            settings.wechat_code2session_url,
            params=params,
            timeout=settings.wechat_timeout_seconds,
        )
        response.raise_for_status()
        answer = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise KinsaveError("wechat_unavailable", "WeChat could not be reached; retry") from error
    if not isinstance(answer, dict):
        raise KinsaveError("wechat_unavailable", "WeChat answered something unexpected")
    return _identity(answer, settings.wechat_appid)


def _identity(answer: dict[str, object], appid: str) -> WechatIdentity:
    errcode = answer.get("errcode", 0)
    if errcode not in (0, None):
        code, message = ERRCODES.get(
            errcode if isinstance(errcode, int) else 0,
            ("wechat_login_failed", "WeChat refused the login"),
        )
        raise KinsaveError(code, message)
    openid, unionid = answer.get("openid"), answer.get("unionid")
    if not isinstance(openid, str) or not 0 < len(openid) <= 100:
        raise KinsaveError("wechat_login_failed", "WeChat returned no openid")
    return WechatIdentity(
        openid=openid,
        unionid=unionid if isinstance(unionid, str) and unionid else None,
        appid=appid,
    )
