"""The hot endpoints on their fast paths, mounted in front of the plain ones by the settings.

Same paths, same bodies, same error codes as envelopes/router.py. What differs is how they reach
the database: a grab without an Idempotency-Key is handed to the grab batcher (group commit) and
runs the one-statement grab; a daily claim draws from the sharded budget; the shopper's session
is looked up through the session cache. Requests with an Idempotency-Key keep their own unit of
work, so the first-answer-replays rule works exactly as before.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from kinsave.api import IdempotencyKey, idempotent
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.auth.session_cache import SessionCache
from kinsave.batcher import Batcher
from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.envelopes import daily_fastpath, fastpath
from kinsave.envelopes import router as plain
from kinsave.envelopes.schemas import DailyClaimOut, GrabOut
from kinsave.errors import KinsaveError


def _shopper(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise KinsaveError("unauthorized", "send Authorization: Bearer <token>")
    token = authorization[7:].strip()
    if token.startswith(("ks_op_", "ks_store_")):
        raise KinsaveError("unauthorized", "this endpoint needs a shopper session, not an API key")
    cache: SessionCache = request.app.state.session_cache
    return cache.resolve(request.app.state.read_session_factory, token).shopper_id


Shopper = Annotated[str, Depends(_shopper)]


def grab_envelope(
    envelope_id: str, request: Request, shopper: Shopper, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    if idempotency_key is not None:
        with unit_of_work(request.app.state.session_factory) as session:
            return idempotent(
                session,
                request,
                scope=ShopperPrincipal(shopper).scope,
                key=idempotency_key,
                body=None,
                operation=lambda: fastpath.grab_share(session, envelope_id, shopper),
            )
    batcher: Batcher = request.app.state.grab_batcher
    grabbed = batcher.run(
        lambda session: fastpath.grab_share(session, envelope_id, shopper), order_key=envelope_id
    )
    return JSONResponse(grabbed.model_dump(mode="json"))


def claim_daily(
    campaign_id: str, request: Request, shopper: Shopper, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    with unit_of_work(request.app.state.session_factory) as session:
        return idempotent(
            session,
            request,
            scope=ShopperPrincipal(shopper).scope,
            key=idempotency_key,
            body=None,
            operation=lambda: daily_fastpath.claim_daily(session, campaign_id, shopper),
        )


def build_router(settings: Settings) -> APIRouter:
    """The fast routes the settings switch on; mount before envelopes.router (first match wins)."""
    router = APIRouter(prefix="/v1", tags=["envelopes"])
    if settings.fast_grab:
        router.add_api_route(
            "/envelopes/{envelope_id}/grab",
            grab_envelope,
            methods=["POST"],
            response_model=GrabOut,
            description=_doc("/v1/envelopes/{envelope_id}/grab"),
        )
    if settings.budget_shards:
        router.add_api_route(
            "/daily/{campaign_id}/claim",
            claim_daily,
            methods=["POST"],
            response_model=DailyClaimOut,
            description=_doc("/v1/daily/{campaign_id}/claim"),
        )
    return router


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the fast routes and give them the session cache and the grab batcher."""
    app.state.session_cache = SessionCache(settings.session_cache_seconds)
    app.state.grab_batcher = Batcher(
        app.state.session_factory,
        max_batch=settings.grab_batch_max,
        lanes=settings.grab_batch_lanes,
    )
    app.include_router(build_router(settings))


def _doc(path: str) -> str:
    for route in plain.router.routes:
        if isinstance(route, APIRoute) and route.path == path:
            return route.description
    return ""
