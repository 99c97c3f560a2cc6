"""Builds the FastAPI app: routers, middleware, error handlers, the sweeper. Nothing else."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from kinsave import __version__
from kinsave.auth.key_cache import StoreKeyCache
from kinsave.auth.loop_reads import loop_session_reads
from kinsave.auth.router import router as auth_router
from kinsave.auth.session_cache import SessionCache
from kinsave.auth.shared_sessions import shared_sessions_for
from kinsave.batch_outcomes import AloneFunction, BatchFunction
from kinsave.batcher import Batcher
from kinsave.campaigns.router import router as campaigns_router
from kinsave.catalog.router import router as catalog_router
from kinsave.config import Settings, get_settings
from kinsave.contract import install_contract, operation_name
from kinsave.coupons import checkout, claims, held, store_writes
from kinsave.coupons.checkout_router import router as checkout_router
from kinsave.coupons.router import admin_router as coupon_admin_router
from kinsave.coupons.router import router as coupons_router
from kinsave.db import (
    AwaitedReads,
    make_batch_engine,
    make_engine,
    make_one_read_session_factory,
    make_session_factory,
    make_single_read_engine,
    open_connections,
)
from kinsave.envelopes import daily, grabs
from kinsave.envelopes.router import router as envelopes_router
from kinsave.error_handlers import install_error_handlers
from kinsave.errors import KinsaveError
from kinsave.gates import make_gates
from kinsave.groups import joining
from kinsave.groups.router import admin_router as group_admin_router
from kinsave.groups.router import router as groups_router
from kinsave.jobs import Sweeper
from kinsave.ledger.router import router as ledger_router
from kinsave.ops import metrics
from kinsave.ops.readiness import Readiness
from kinsave.ops.request_log import RequestLog
from kinsave.ops.router import router as ops_router
from kinsave.ops.warm_up import warm_up
from kinsave.security.middleware import HostileInputGuard, SecurityHeaders
from kinsave.security.ratelimit import RateLimiter
from kinsave.security.router import router as security_router
from kinsave.sharing.admin_router import router as sharing_admin_router
from kinsave.sharing.router import router as sharing_router
from kinsave.social.price_cut_router import router as price_cut_router
from kinsave.social.router import router as social_router
from kinsave.storelinks.router import router as storelinks_router
from kinsave.telegram import identity as telegram_identity
from kinsave.telegram.router import router as telegram_router
from kinsave.web import install as install_pages
from kinsave.web.api_docs import install_api_docs
from kinsave.webhooks.router import router as webhooks_router

logger = logging.getLogger("kinsave")
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _read_terms_ahead(app: FastAPI, settings: Settings) -> None:
    """The active templates' terms, read before serving so that the quote's first requests read
    none; on SQLite this is also the process's first thread hop, which loads anyio's thread pool
    off them (docs/benchmarks.md, "the quote's tail"). A database not ready (schema behind,
    unreachable) is /readyz's to report: the quote then reads the terms on demand, as before."""
    try:
        held.remember_active_terms(app.state.single_read_engine, not settings.is_sqlite)
    except SQLAlchemyError as error:
        logger.warning("held coupons' terms not read at start-up: %s", type(error).__name__)


async def _warm_up(app: FastAPI) -> None:
    """The first requests' one-time work, done before the process accepts a connection (decision
    43): the quote's read, optimiser and answer on the event loop, as the route runs them,
    then the app's own first requests (ops/warm_up.py). A database not ready is /readyz's."""
    try:
        await checkout.warm_quote(app.state.single_read_engine, app.state.awaited_reads)
    except (SQLAlchemyError, KinsaveError) as error:
        logger.warning("the quote not warmed up at start-up: %s", type(error).__name__)
    await warm_up(app)
    # What start-up built (modules, routes, schemas, the pools) lives as long as the process:
    # out of the collector's generations, a full collection no longer walks it on the event loop.
    gc.collect()  # garbage of the start-up freed first, not kept for good
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings)
    session_factory = make_session_factory(engine)
    metrics.watch_pool(engine)
    sweeper = Sweeper(
        session_factory, interval=settings.sweeper_interval_seconds, settings=settings
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.is_sqlite:  # SQLite opens its file on demand; nothing to run out of
            # The batchers' lanes' pool: what a storm uses first.
            lanes, count = app.state.batch_engine, settings.db_connections_at_start
            await run_in_threadpool(open_connections, lanes, count)
        await run_in_threadpool(_read_terms_ahead, app, settings)
        # Made here, on the loop that serves: its connections and their waits belong to it.
        app.state.awaited_reads = None if settings.is_sqlite else AwaitedReads(engine.url)
        await _warm_up(app)
        if settings.sweeper_enabled:
            sweeper.start()
        # The bot's username makes the Mini App's t.me link: asked once, off the request path.
        asking = await telegram_identity.start_asking(settings)
        yield
        asking.cancel()
        await _shut_down(app, sweeper, batchers, engine)

    app = FastAPI(
        title="kinsave",
        version=__version__,
        description="Red envelopes, coupons and shares that bring shoppers back to the store.",
        lifespan=lifespan,
        # /docs and /redoc are served from bundled assets (web/api_docs.py), not from a CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry asks the global providers on every request whether it
        # is configured: a tenth of a storm request's event-loop time when it is not.
        telemetry=None if settings.telemetry else NO_TELEMETRY,
        generate_unique_id_function=operation_name,
    )
    _share_state(app, settings, engine, session_factory)
    batchers = _start_batchers(app, settings)
    _install_routes(app, settings)
    install_pages(app, settings)
    install_api_docs(app)
    install_contract(app)
    install_error_handlers(app)
    _install_middleware(app, settings)
    return app


async def _shut_down(
    app: FastAPI, sweeper: Sweeper, batchers: list[Batcher[Any, Any]], engine: Engine
) -> None:
    """The lifespan's end: the gates', sessions' and reads' connections closed on the loop that
    opened them, the sweeper and the batchers stopped, the engines disposed."""
    if app.state.gates is not None:
        await app.state.gates.close()
    if app.state.session_cache.shared is not None:
        await app.state.session_cache.shared.close()
    sweeper.stop()
    for batcher in batchers:
        batcher.stop()
    if app.state.loop_session_reads is not None:
        app.state.loop_session_reads.close()
    engine.dispose()
    app.state.batch_engine.dispose()
    app.state.single_read_engine.dispose()
    if app.state.awaited_reads is not None:
        await app.state.awaited_reads.close()
        app.state.awaited_reads = None
    metrics.process_exiting()
    # What start-up froze goes back to the collector: a process that builds apps one after
    # another (the tests, an embedding program) would otherwise never free their cycles.
    gc.unfreeze()


def _share_state(
    app: FastAPI, settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """What the requests share, in app.state: settings, session factories, gates, caches."""
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.read_session_factory = make_session_factory(engine, read_only=True)
    # The storm batchers' gates (gates/): in Redis when it is set, else in this process's memory,
    # which is exact only while it is the one API process: several without Redis go without
    # gates (`kinsave serve` logs that once, ops/production_check.py).
    app.state.gates = (
        make_gates(settings.redis_url)
        if settings.redis_url or settings.api_processes == 1
        else None
    )
    app.state.one_read_session_factory = make_one_read_session_factory(engine)
    app.state.single_read_engine = make_single_read_engine(engine)  # the checkout quote's
    app.state.batch_engine = make_batch_engine(engine, settings)  # the batchers' lanes'
    if app.state.batch_engine is not engine:
        metrics.watch_pool(app.state.batch_engine)
    app.state.awaited_reads = None  # the quote's on PostgreSQL, made by the lifespan
    # Set even when off: a missing attribute of app.state costs an exception on every request.
    app.state.rate_limiter = (
        RateLimiter(session_factory, settings.redis_url) if settings.rate_limits_enabled else None
    )
    shared = shared_sessions_for(settings.redis_url, engine)
    app.state.session_cache = SessionCache(settings.session_cache_seconds, shared=shared)
    app.state.loop_session_reads = loop_session_reads(engine)
    app.state.readiness = Readiness(engine, settings.redis_url)
    app.state.store_key_cache = StoreKeyCache()


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Outermost last: headers are added even to the guard's own refusals.
    app.add_middleware(
        HostileInputGuard,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
    )
    app.add_middleware(RequestLog)  # inside SecurityHeaders: its 500s get the headers too
    app.add_middleware(SecurityHeaders)


# FastAPI tries routes in this order, every route's pattern in turn: the storms' taps first (the
# grab, the daily claim and the coupon claim: a refused tap costs little more than its matching),
# then the store's checkout, quoted on every cart view (matching it behind 70 routes was a sixth
# of a quote's server time, docs/benchmarks.md). No other route's path overlaps these.
DOCUMENTED_ROUTERS = (
    checkout_router,
    envelopes_router,
    coupons_router,
    auth_router,
    ledger_router,
    campaigns_router,
    social_router,
    price_cut_router,
    webhooks_router,
    sharing_router,
    sharing_admin_router,
    catalog_router,
    coupon_admin_router,
    group_admin_router,
    groups_router,
    security_router,
    storelinks_router,
    ops_router,
    telegram_router,
)


STORM_ROUTERS = 3  # checkout, envelopes, coupons: the first of DOCUMENTED_ROUTERS
# The storms' taps, matched before every other documented route (_serve_as_own_routes).
STORM_TAPS = (
    "/v1/envelopes/{envelope_id}/grab",
    "/v1/daily/{campaign_id}/claim",
    "/v1/coupons/claim",
)


def _install_routes(app: FastAPI, settings: Settings) -> None:
    """The documented API; when the bench's routes are on, its do-nothing routes before all of
    them and its other routes right after the storm routers: FastAPI scans every route of each
    router in front of the one that matches (a grab behind the bench's ten routes paid for ten
    more pattern matches than in production)."""
    bench_routers: tuple[APIRouter, ...] = ()
    if settings.bench_endpoints:
        from kinsave.bench.router import noop_router, signed_router
        from kinsave.bench.router import router as bench_router

        app.include_router(noop_router)
        # The signed do-nothing, a tap's floor: served as the app's own route where the grab
        # would be, so its matching costs what the grab's does (the taps pay one more failed
        # match in the bench, as they do for the do-nothing route).
        app.router.routes.extend(signed_router.routes)
        bench_routers = (bench_router,)
    storm, rest = DOCUMENTED_ROUTERS[:STORM_ROUTERS], DOCUMENTED_ROUTERS[STORM_ROUTERS:]
    _serve_as_own_routes(app, storm)
    for router in (*bench_routers, *rest):
        app.include_router(router)


def _serve_as_own_routes(app: FastAPI, routers: tuple[APIRouter, ...]) -> None:
    """The storm routers' routes, served as the app's own routes instead of through FastAPI's
    included router, which matches each of its routes twice per request (to choose the router,
    then the route) with a scope key set and restored around each match: matching a grab behind
    the checkout's routes took 18 us of a refused grab's 150 in-process, now 12 (docs/benchmarks.md,
    "A refused tap's cost, session 9"). The storms' taps (STORM_TAPS) come first: each route in
    front of a tap is a failed match on every tap, 0.7 us apiece (eight were: 5.6 us of a
    refusal, "A refused tap's floor, session 10"); the quote pays three more (2 us of a 1 ms
    quote). No route's path overlaps a tap's, so none is shadowed. The route objects are the
    routers' own, complete where they were declared (prefix, tags, responses; no router
    dependencies), their operationIds named there by `operation_name`, so /openapi.json is the
    same (its paths in the routes' order: the taps' first). What the app's inclusion would add is
    `app.dependency_overrides`: StormRoute (the envelopes' and the checkout's routers) honours
    them by itself (storm_route.py); the coupons' routes do not see them."""
    routes: list[BaseRoute] = []
    for router in routers:
        assert not router.dependencies and router.generate_unique_id_function is operation_name
        routes.extend(router.routes)
    taps = [route for route in routes if getattr(route, "path", None) in STORM_TAPS]
    assert len(taps) == len(STORM_TAPS)
    app.router.routes.extend([*taps, *(route for route in routes if route not in taps)])


def _start_batchers(app: FastAPI, settings: Settings) -> list[Batcher[Any, Any]]:
    """The storms' batchers (group commit, batcher.py), one per storm endpoint, in app.state."""

    def batcher(
        name: str,
        run_batch: BatchFunction[Any, Any],
        run_alone: AloneFunction[Any, Any] | None = None,
        **options: Any,
    ) -> Batcher[Any, Any]:
        return Batcher(
            lanes_sessions,
            run_batch,
            max_batch=settings.grab_batch_max,
            run_alone=run_alone,
            name=name,
            **{"lanes": settings.batch_lanes, **options},
        )

    lanes_sessions = make_session_factory(app.state.batch_engine)
    gates = app.state.gates
    app.state.grab_batcher = batcher(
        "grab",
        grabs.book_grabs,
        grabs.grab_alone,
        retry_seconds=grabs.BUSY_SECONDS,
        gate=gates and gates.grab,
    )
    app.state.daily_batcher = batcher("daily", daily.book_daily_claims, gate=gates and gates.daily)
    app.state.coupon_batcher = batcher("coupon", claims.claim_many, gate=gates and gates.coupon)
    app.state.group_join_batcher = batcher(
        "group_join", joining.join_groups, lanes=settings.group_join_lanes
    )
    app.state.checkout_batcher = batcher(
        "checkout",
        store_writes.run_store_writes,
        store_writes.run_store_write,
        lanes=settings.checkout_lanes,
        keys_take_turns=True,
    )
    # Sign-ins the session cache does not remember: one read per batch of new tokens, one
    # statement without BEGIN and COMMIT on PostgreSQL (two round trips that changed nothing).
    # One lane: reads never contend, and a lane busy with its batch is not woken per token (a
    # storm's new tokens spread over four lanes woke a thread for almost every one).
    app.state.session_batcher = Batcher(
        app.state.one_read_session_factory,
        app.state.session_cache.resolve_many,
        max_batch=settings.grab_batch_max,
        lanes=1,
        name="session",
    )
    return [
        app.state.grab_batcher,
        app.state.daily_batcher,
        app.state.coupon_batcher,
        app.state.group_join_batcher,
        app.state.checkout_batcher,
        app.state.session_batcher,
    ]
