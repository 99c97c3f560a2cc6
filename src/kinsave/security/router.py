"""Operator endpoints for accountability and access: the audit log, key rotation, logout."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kinsave.api import DbSession, ReadSession
from kinsave.auth import service as auth
from kinsave.auth.deps import CurrentOperator, CurrentShopper, bearer_token
from kinsave.security import audit
from kinsave.security.schemas import AuditPageOut, RotatedKeyOut

router = APIRouter(prefix="/v1", tags=["security"])


@router.get("/admin/audit", response_model=AuditPageOut)
def audit_log(
    operator: CurrentOperator,
    session: ReadSession,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    """Your shop's audit log, newest first: every change made with an operator key."""
    return audit.page(session, operator.shop_id, before_id=before_id, limit=limit)


@router.post("/admin/keys/rotate", response_model=RotatedKeyOut, status_code=201)
def rotate_key(request: Request, operator: CurrentOperator, session: DbSession) -> RotatedKeyOut:
    """Revoke the key making this call and return its replacement (same shop and access), once."""
    key, prefix = auth.rotate_api_key(session, bearer_token(request.headers.get("authorization")))
    return RotatedKeyOut(key=key, prefix=prefix, access=operator.access)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, _shopper: CurrentShopper, session: DbSession) -> Response:
    """End this session: its token stops working at once."""
    token = bearer_token(request.headers.get("authorization"))
    auth.revoke_session(session, token)
    request.app.state.session_cache.forget(token)
    return Response(status_code=204)
