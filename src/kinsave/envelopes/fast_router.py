"""The two storm endpoints, grab and daily claim, on their batched paths (settings `fast_grab`
and `fast_daily`, both on by default).

Same paths, bodies, sign-in, rate limits and error codes as envelopes/router.py, mounted in front
of it (the first match wins). A request without an Idempotency-Key is handed to a batcher (group
commit; on PostgreSQL one pipelined round trip per batch) and awaited on the event loop, so it
holds no thread while its batch commits and a storm fills the batches. A request with an
Idempotency-Key keeps its own unit of work on a pool thread, so the first answer replays exactly
as on the plain routes.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kinsave.api import IdempotencyKey, batched_or_alone
from kinsave.auth.deps import CurrentShopper
from kinsave.config import Settings
from kinsave.envelopes import daily_fastpath, fastpath
from kinsave.envelopes.daily_fastpath import DailyRequest
from kinsave.envelopes.fastpath import GrabRequest
from kinsave.envelopes.schemas import DailyClaimOut, GrabOut
from kinsave.security.deps import shopper_rate_limit


async def grab_envelope(
    envelope_id: str,
    request: Request,
    shopper: CurrentShopper,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key,
        batcher=request.app.state.grab_batcher,
        item=GrabRequest(envelope_id, shopper.shopper_id),
        order_key=envelope_id,
        alone=lambda session: fastpath.grab_share(session, envelope_id, shopper.shopper_id),
    )


async def claim_daily(
    campaign_id: str,
    request: Request,
    shopper: CurrentShopper,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key,
        batcher=request.app.state.daily_batcher,
        item=DailyRequest(campaign_id, shopper.shopper_id),
        order_key=campaign_id,
        alone=lambda session: daily_fastpath.claim_daily(session, campaign_id, shopper.shopper_id),
    )


def build_router(settings: Settings) -> APIRouter:
    """The batched routes the settings switch on; mount before envelopes.router."""
    router = APIRouter(prefix="/v1", tags=["envelopes"])
    routes: list[tuple[bool, str, Callable[..., Any], type[BaseModel], str]] = [
        (settings.fast_grab, "/envelopes/{envelope_id}/grab", grab_envelope, GrabOut, "grab"),
        (settings.fast_daily, "/daily/{campaign_id}/claim", claim_daily, DailyClaimOut, "claim"),
    ]
    for enabled, path, endpoint, answer, limit in routes:
        if enabled:
            router.add_api_route(
                path,
                endpoint,
                methods=["POST"],
                response_model=answer,
                dependencies=[shopper_rate_limit(limit)],
                # The plain route behind it documents the same path, body and answers once.
                include_in_schema=False,
            )
    return router


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the batched routes (their batchers are in app.state); before envelopes.router."""
    app.include_router(build_router(settings))
