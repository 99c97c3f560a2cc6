"""Probes for orchestrators and load balancers: liveness (/healthz) and readiness (/readyz)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

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
