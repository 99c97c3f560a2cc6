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
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kinsave.api import IdempotencyKey, idempotent
from kinsave.auth.deps import CurrentShopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.batcher import Batcher
from kinsave.config import Settings
from kinsave.db import unit_of_work
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
    return await _answer(
        request,
        shopper,
        idempotency_key,
        "grab_batcher",
        GrabRequest,
        fastpath.grab_share,
        envelope_id,
    )


async def claim_daily(
    campaign_id: str,
    request: Request,
    shopper: CurrentShopper,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await _answer(
        request,
        shopper,
        idempotency_key,
        "daily_batcher",
        DailyRequest,
        daily_fastpath.claim_daily,
        campaign_id,
    )


async def _answer(
    request: Request,
    shopper: ShopperPrincipal,
    idempotency_key: str | None,
    batcher_name: str,
    item: Callable[[str, str], Any],
    alone: Callable[[Session, str, str], BaseModel],
    target_id: str,
) -> JSONResponse:
    """Through the batcher (the target's lane), or alone under an Idempotency-Key."""
    if idempotency_key is not None:
        return await _once(
            request,
            shopper.scope,
            idempotency_key,
            lambda session: alone(session, target_id, shopper.shopper_id),
        )
    batcher: Batcher[Any, BaseModel] = getattr(request.app.state, batcher_name)
    answer = await batcher.submit(item(target_id, shopper.shopper_id), order_key=target_id)
    return JSONResponse(answer.model_dump(mode="json"))


async def _once(
    request: Request, scope: str, key: str, operation: Callable[[Session], BaseModel]
) -> JSONResponse:
    def run() -> JSONResponse:
        with unit_of_work(request.app.state.session_factory) as session:
            return idempotent(
                session,
                request,
                scope=scope,
                key=key,
                body=None,
                operation=lambda: operation(session),
            )

    return await run_in_threadpool(run)


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


def install(app: FastAPI, settings: Settings) -> list[Callable[[], None]]:
    """Mount the batched routes and start their batchers; returns what stops them."""
    lanes = settings.batch_lanes
    grab_batcher = Batcher(
        app.state.session_factory,
        fastpath.grab_many,
        max_batch=settings.grab_batch_max,
        lanes=lanes,
    )
    daily_batcher = Batcher(
        app.state.session_factory,
        daily_fastpath.claim_many,
        max_batch=settings.grab_batch_max,
        lanes=lanes,
    )
    app.state.grab_batcher, app.state.daily_batcher = grab_batcher, daily_batcher
    app.include_router(build_router(settings))
    return [grab_batcher.stop, daily_batcher.stop]
