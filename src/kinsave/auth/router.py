from fastapi import APIRouter, Request

from kinsave.api import DbSession
from kinsave.auth import host_sign_in, service, wechat
from kinsave.auth.schemas import DevLoginIn, TelegramLoginIn, TokenOut, WechatLoginIn
from kinsave.db import unit_of_work
from kinsave.errors import ERROR_STATUS, KinsaveError, openapi_errors
from kinsave.security.deps import rate_limit

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/dev-login",
    response_model=TokenOut,
    responses=openapi_errors("not_found"),
    dependencies=[rate_limit("login")],
)
def dev_login(body: DevLoginIn, request: Request, session: DbSession) -> TokenOut:
    """Sign in as any shopper id. Only when dev login is enabled (demo, KINSAVE_DEV_LOGIN=1)."""
    settings = request.app.state.settings
    if not settings.dev_login:
        raise KinsaveError("not_found", "dev login is disabled")
    service.ensure_shopper(session, body.user_id, body.display_name)
    token, _ = service.start_session(
        session, body.user_id, channel="dev", ttl_seconds=settings.session_ttl_seconds
    )
    return TokenOut(token=token, shopper_id=body.user_id, expires_in=settings.session_ttl_seconds)


@router.post(
    "/telegram",
    response_model=TokenOut,
    responses=openapi_errors("not_found", "init_data_invalid", "init_data_expired"),
    dependencies=[rate_limit("login")],
)
def telegram_login(body: TelegramLoginIn, request: Request, session: DbSession) -> TokenOut:
    """Sign in from a Telegram Mini App with its initData (hash or Ed25519 signature)."""
    return host_sign_in.sign_in_with_telegram(session, request.app.state.settings, body.init_data)


@router.post(
    "/wechat",
    response_model=TokenOut,
    responses=openapi_errors(
        "not_found",
        *(code for code in ERROR_STATUS if code.startswith("wechat_")),
    ),
    dependencies=[rate_limit("login")],
)
def wechat_login(body: WechatLoginIn, request: Request) -> TokenOut:
    """Sign in from a WeChat-style mini program with the code from wx.login()."""
    settings = request.app.state.settings
    # The network call comes first, with no transaction (and on SQLite no write lock) open.
    user = wechat.exchange_code(settings, body.code)
    with unit_of_work(request.app.state.session_factory) as session:
        return host_sign_in.sign_in_with_wechat(session, settings, user)
