"""CPU per storm tap, in-process: the ASGI app called directly, 32 requests in flight at a time.

    PYTHONPATH=src python scripts/tap_cpu.py sqlite|postgresql [redis-url|memory] [rounds]

The bench's HTTP runs (`kinsave bench run --scenario shop-envelope --mode http`) measure the
machine as much as the code when other jobs share its cores. This drives the whole app
(middleware, routing, sign-in, the gate, the batcher, the answer) without uvicorn and the
network, and reports the CPU time of this process per request (the least of `rounds`
interleaved blocks; on PostgreSQL and Redis their own CPU is not in it): the do-nothing
endpoint; a refused grab (`envelope_empty`) by a shopper whose session this process has seen
(the session cache) and by one it has not (each token's first request); and a granted grab.
Point PYTHONPATH at another checkout's src to compare two versions on the same machine.

The floor of a refusal through a documented, signed-in FastAPI route: "signed do-nothing" is a
route with the grab's exact signature (its path parameter, its dependencies, its Idempotency-Key
header) that does nothing, matched first as the do-nothing route is, by a shopper whose session
this process has seen; "signed do-nothing, old" the same with the signature the grab had before
session 7 (`shopper_rate_limit` beside `CurrentShopper`: four dependencies solved).
"""

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from kinsave.api import IdempotencyKey
from kinsave.app import create_app
from kinsave.auth.deps import CurrentShopper
from kinsave.bench import seed
from kinsave.bench.databases import temporary_database
from kinsave.config import Settings
from kinsave.db import make_engine, make_session_factory
from kinsave.migrate import upgrade_to_head

try:
    from kinsave.security.deps import shopper_rate_limit
except ImportError:  # gone since session 8 (decision 37): no "old" floor to measure
    shopper_rate_limit = None

try:
    from kinsave.envelopes.router import GrabbingShopper
except ImportError:  # a checkout from before session 7
    GrabbingShopper = None

try:
    from kinsave.auth import shared_sessions
except ImportError:  # a checkout from before session 10: sessions only in the database
    shared_sessions = None

NOTHING = b'{"ok":true}'


async def signed_noop_old(
    envelope_id: str,
    request: Request,
    shopper: CurrentShopper,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return Response(NOTHING, media_type="application/json")


def add_signed_noops(app: FastAPI) -> list[str]:
    """The do-nothing routes with the grab's signature, matched first; their paths."""
    routes = []
    if shopper_rate_limit is not None:
        routes.append(
            APIRoute(
                "/v1/bench/signed-noop-old/{envelope_id}",
                signed_noop_old,
                methods=["POST"],
                dependencies=[shopper_rate_limit("grab")],
            )
        )
    if GrabbingShopper is not None:

        async def signed_noop(
            envelope_id: str,
            request: Request,
            shopper: GrabbingShopper,  # type: ignore[valid-type]
            idempotency_key: IdempotencyKey = None,
        ) -> Response:
            return Response(NOTHING, media_type="application/json")

        routes.append(
            APIRoute("/v1/bench/signed-noop/{envelope_id}", signed_noop, methods=["POST"])
        )
    app.router.routes[:0] = routes
    return [route.path.replace("{envelope_id}", "e1") for route in routes]


FLOOR_NAMES = {
    "/v1/bench/signed-noop-old/e1": "signed do-nothing, old",
    "/v1/bench/signed-noop/e1": "signed do-nothing",
}
BLOCK = 320
IN_FLIGHT = 32
Message = MutableMapping[str, Any]


async def call(app: Callable[..., Awaitable[None]], method: str, path: str, token: str) -> bytes:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "scheme": "http",
        "root_path": "",
    }
    sent = False
    body = b""

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError

    async def send(message: Message) -> None:
        nonlocal body
        if message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return body


async def block(app: Any, method: str, calls: list[tuple[str, str]], expect: bytes) -> float:
    """CPU ms per request of `calls` (path, token), IN_FLIGHT at a time."""
    started = time.process_time()
    for start in range(0, len(calls), IN_FLIGHT):
        chunk = calls[start : start + IN_FLIGHT]
        bodies = await asyncio.gather(*(call(app, method, p, t) for p, t in chunk))
        assert all(expect in b for b in bodies), bodies[:2]
    return (time.process_time() - started) / len(calls) * 1000


async def measure(
    app: Any, crowd: seed.Crowd, empty: str, open_: list[str], floors: list[str]
) -> dict[str, float]:
    tokens = iter(crowd.tokens)
    warm = [next(tokens) for _ in range(BLOCK)]
    grab_empty = f"/v1/envelopes/{empty}/grab"
    await block(app, "POST", [(grab_empty, t) for t in warm], b"envelope_empty")  # warm up
    names = ["do-nothing", *(FLOOR_NAMES[path] for path in floors)]
    names += ["refused (seen)", "refused (new)", "granted (new)"]
    best = dict.fromkeys(names, 1e9)
    for envelope in open_:
        figures = (
            await block(app, "GET", [("/v1/bench/noop", "x")] * BLOCK, b"true"),
            *[await block(app, "POST", [(path, t) for t in warm], b"ok") for path in floors],
            await block(app, "POST", [(grab_empty, t) for t in warm], b"envelope_empty"),
            await block(
                app, "POST", [(grab_empty, next(tokens)) for _ in range(BLOCK)], b"envelope_empty"
            ),
            await block(
                app,
                "POST",
                [(f"/v1/envelopes/{envelope}/grab", next(tokens)) for _ in range(IN_FLIGHT)],
                b"amount",
            ),
        )
        for name, value in zip(best, figures, strict=True):
            best[name] = min(best[name], value)
    return best


def main(kind: str, store: str, rounds: int) -> None:
    os.environ["KINSAVE_ACCESS_LOG"] = os.environ.get("KINSAVE_ACCESS_LOG", "1")
    redis_url = None if store == "memory" else store
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    with temporary_database(kind) as url:
        settings = Settings(
            database_url=url,
            redis_url=redis_url,
            bench_endpoints=True,
            rate_limits_enabled=False,
            sweeper_enabled=False,
            session_cache_seconds=30,
        )
        upgrade_to_head(settings)
        engine = make_engine(settings)
        factory = make_session_factory(engine)
        # As the bench does: the crowd's sessions go to Redis too, where the server keeps them.
        shared = None
        if redis_url and shared_sessions is not None:
            shared = shared_sessions.shared_sessions_for(redis_url, engine)
        crowd = seed.crowd(factory, BLOCK * (rounds + 2) + IN_FLIGHT * rounds + 10)
        (empty,) = seed.shop_envelopes(factory, settings, crowd.shop_id, 1, 1, 100)
        open_ = seed.shop_envelopes(factory, settings, crowd.shop_id, rounds, IN_FLIGHT, 3_200)
        app = create_app(settings)
        floors = add_signed_noops(app)

        async def run() -> dict[str, float]:
            async with app.router.lifespan_context(app):
                await call(app, "POST", f"/v1/envelopes/{empty}/grab", crowd.tokens[-1])
                return await measure(app, crowd, empty, open_, floors)

        best = asyncio.run(run())
        app.state.engine.dispose()
        del shared
    figures = "; ".join(f"{name} {ms:.3f} ms" for name, ms in best.items())
    print(f"{kind}, gates in {store}: CPU per request of this process: {figures}")


if __name__ == "__main__":
    arguments = sys.argv[1:] + ["memory", "5"][len(sys.argv) - 2 :]
    main(arguments[0], arguments[1], int(arguments[2]))
