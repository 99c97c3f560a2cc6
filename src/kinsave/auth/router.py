from fastapi import APIRouter, Request

from kinsave.api import DbSession
from kinsave.auth import service
from kinsave.auth.schemas import DevLoginIn, TokenOut
from kinsave.errors import KinsaveError

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/dev-login", response_model=TokenOut)
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
