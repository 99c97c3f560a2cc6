"""The parts of a refused grab, each timed alone in-process (CPU per call of this process).

    PYTHONPATH=src:examples/store python scripts/tap_parts.py

The app on a temporary SQLite database, gates in memory, the shopper's session remembered:
matching the grab's path against the app's routes in their order (and the do-nothing route's),
the refusal's answer (`error_response`), the shopper dependency with its session known, the
gate's refusal through `Batcher.answer`, then a whole refused grab and a whole do-nothing
request through the ASGI app, one at a time. Point PYTHONPATH at another checkout's src to
compare versions (docs/benchmarks.md, "A refused tap's cost, session 9").
"""

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Match

from kinsave.api import error_response
from kinsave.app import create_app
from kinsave.bench import seed
from kinsave.bench.databases import temporary_database
from kinsave.config import Settings
from kinsave.db import make_engine, make_session_factory
from kinsave.envelopes import grabs
from kinsave.errors import KinsaveError
from kinsave.migrate import upgrade_to_head
from kinsave.security.deps import RateLimitedShopper

sys.path.insert(0, os.path.dirname(__file__))
from tap_cpu import call  # noqa: E402 - the same ASGI driver as tap_cpu.py

CALLS = 20_000


def per_call(part: Callable[[], object], calls: int = CALLS) -> float:
    started = time.process_time()
    for _ in range(calls):
        part()
    return (time.process_time() - started) / calls * 1e6


async def per_await(part: Callable[[], Awaitable[object]], calls: int = CALLS) -> float:
    started = time.process_time()
    for _ in range(calls):
        await part()
    return (time.process_time() - started) / calls * 1e6


def scope_of(app: Any, method: str, path: str, token: str) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "app": app,
    }


def matcher(app: Any, method: str, path: str, token: str) -> Callable[[], object]:
    def match() -> object:
        scope = scope_of(app, method, path, token)
        for route in app.router.routes:
            if route.matches(scope)[0] == Match.FULL:
                return route
        raise AssertionError(path)

    return match


async def measure(app: Any, empty: str, token: str) -> dict[str, float]:
    grab = f"/v1/envelopes/{empty}/grab"
    refusal = KinsaveError("envelope_empty", "no shares left")
    shopper = RateLimitedShopper("grab")
    request = Request(scope_of(app, "POST", grab, token))
    item = grabs.GrabRequest(empty, "someone")

    async def gate_refusal() -> None:
        try:
            await app.state.grab_batcher.answer(item, order_key=empty)
        except KinsaveError:
            pass

    await call(app, "POST", grab, token)  # seeds the gate, remembers the session
    return {
        "match: the grab, in its place": per_call(matcher(app, "POST", grab, token)),
        "match: the do-nothing route": per_call(matcher(app, "GET", "/v1/bench/noop", token)),
        "answer: error_response(envelope_empty)": per_call(lambda: error_response(refusal)),
        "dependency: the shopper, session known": await per_await(lambda: shopper(request)),
        "gate: Batcher.answer's refusal (memory)": await per_await(gate_refusal),
        "whole: a refused grab": await per_await(lambda: call(app, "POST", grab, token), 5000),
        "whole: a do-nothing request": await per_await(
            lambda: call(app, "GET", "/v1/bench/noop", token), 5000
        ),
    }


def main() -> None:
    with temporary_database("sqlite") as url:
        settings = Settings(
            database_url=url,
            bench_endpoints=True,
            rate_limits_enabled=False,
            sweeper_enabled=False,
            session_cache_seconds=30,
        )
        upgrade_to_head(settings)
        factory = make_session_factory(make_engine(settings))
        crowd = seed.crowd(factory, 10)
        (empty,) = seed.shop_envelopes(factory, settings, crowd.shop_id, 1, 1, 100)
        app = create_app(settings)

        async def run() -> dict[str, float]:
            async with app.router.lifespan_context(app):
                return await measure(app, empty, crowd.tokens[0])

        figures = asyncio.run(run())
        app.state.engine.dispose()
    for name, microseconds in figures.items():
        print(f"{microseconds:8.1f} us  {name}")


if __name__ == "__main__":
    main()
