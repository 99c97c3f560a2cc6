"""Sign-in from the hosts: a kinsave session for a Telegram user whose initData verifies or a
WeChat user identified by code2session, keeping the shopper's channel identity for anti-fraud."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kinsave.auth import telegram
from kinsave.auth.schemas import HostIdentity, TokenOut
from kinsave.auth.service import ensure_shopper, remember_channel_identity, start_session
from kinsave.auth.wechat import WechatIdentity
from kinsave.config import Settings
from kinsave.db import utcnow
from kinsave.errors import KinsaveError, register_codes

register_codes({"init_data_invalid": 401, "init_data_expired": 401})


def sign_in_with_telegram(
    session: Session, settings: Settings, init_data: str, now: datetime | None = None
) -> TokenOut:
    """A kinsave session for the Telegram user whose initData verifies (shopper id `tg:<id>`).

    Errors: not_found (Telegram login not configured), init_data_invalid, init_data_expired.
    """
    token = settings.telegram_bot_token
    bot_id = settings.telegram_bot_id or _bot_id_of(token)
    if token is None and bot_id is None:
        raise KinsaveError("not_found", "Telegram login is not configured")
    try:
        user = telegram.verify_init_data(
            init_data,
            now=now or utcnow(),
            bot_token=token,
            bot_id=bot_id,
            public_key_hex=telegram.TEST_PUBLIC_KEY
            if settings.telegram_test_environment
            else telegram.PRODUCTION_PUBLIC_KEY,
            max_age=timedelta(seconds=settings.telegram_init_data_max_age_seconds),
        )
    except telegram.InitDataRejected as rejected:
        raise KinsaveError(rejected.code, str(rejected)) from None
    return _host_session(
        session,
        settings,
        shopper_id=f"tg:{user.user_id}",
        display_name=user.display_name,
        identity=HostIdentity(
            host="telegram",
            host_user_id=str(user.user_id),
            app_id=str(bot_id) if bot_id else None,
        ),
    )


def sign_in_with_wechat(session: Session, settings: Settings, user: WechatIdentity) -> TokenOut:
    """A kinsave session for a WeChat user already identified by code2session (`wx:<openid>`)."""
    return _host_session(
        session,
        settings,
        shopper_id=f"wx:{user.openid}",
        display_name=None,
        identity=HostIdentity(
            host="wechat", host_user_id=user.openid, app_id=user.appid, union_id=user.unionid
        ),
    )


def _bot_id_of(bot_token: str | None) -> int | None:
    prefix = (bot_token or "").split(":", 1)[0]
    return int(prefix) if prefix.isascii() and prefix.isdigit() else None


def _host_session(
    session: Session,
    settings: Settings,
    *,
    shopper_id: str,
    display_name: str | None,
    identity: HostIdentity,
) -> TokenOut:
    ensure_shopper(session, shopper_id, display_name)
    remember_channel_identity(
        session,
        host=identity.host,
        host_user_id=identity.host_user_id,
        shopper_id=shopper_id,
        app_id=identity.app_id,
        union_id=identity.union_id,
    )
    token, _ = start_session(
        session, shopper_id, channel=identity.host, ttl_seconds=settings.session_ttl_seconds
    )
    return TokenOut(token=token, shopper_id=shopper_id, expires_in=settings.session_ttl_seconds)


def telegram_start_param(init_data: str) -> str | None:
    """The `start_param` (a startapp link's value) of initData that sign_in_with_telegram has
    just verified: read only after that check, so it is Telegram's, not the page's."""
    try:
        return telegram.parse_init_data(init_data).get("start_param") or None
    except telegram.InitDataRejected:
        return None
