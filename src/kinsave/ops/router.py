"""Probes for orchestrators and load balancers (/healthz, /readyz) and the metrics (/metrics)."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from kinsave.errors import KinsaveError
from kinsave.ops.metrics_page import CONTENT_TYPE_LATEST, render
from kinsave.ops.readiness import OK

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. It touches no database, so a restart never follows a
    database outage (that is what /readyz reports)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: `checks` names what failed"}},
)
def readyz(request: Request) -> Any:
    """Readiness: the database answers and is at the migrations' head; Redis answers when
    configured. 200 `{"status": "ready", "checks": {...}}`, else 503 with `"not_ready"`."""
    checks = request.app.state.readiness.check()
    ready = all(result == OK for result in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics_page(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Prometheus text format, for the holder of KINSAVE_METRICS_TOKEN; a 404 while it is unset."""
    token = request.app.state.settings.metrics_token
    if not token:
        raise KinsaveError("not_found", "metrics are off (KINSAVE_METRICS_TOKEN is unset)")
    expected = f"Bearer {token}".encode()
    if not hmac.compare_digest((authorization or "").encode(), expected):
        raise KinsaveError("unauthorized", "the metrics token is missing or wrong")
    body = await run_in_threadpool(render, request.app.state.read_session_factory)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
