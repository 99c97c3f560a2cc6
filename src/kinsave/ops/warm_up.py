"""A process's first-request work, done in its start-up, before it accepts a connection.

A fresh API process paid 30 to 50 ms on its first request (docs/benchmarks.md, "Eighth round"):
FastAPI builds each included router's routes (their dependencies, their pydantic fields) the
first time a request is matched against them, Starlette builds its middleware stack on its first
call, and the first store-key read loads anyio's thread pool. Every request that arrived
meanwhile waited behind that one on the only event loop: a store opening 32 connections to a
freshly started (or restarted, or scaled-out) process saw its first 32 quotes take 3 to 5 times
the usual latency, the slowest 1 % of a 2,000-quote run.

So the start-up sends the app two requests of its own, in-process through the whole ASGI stack:
one for a path no route serves (every router's routes matched and built, a 404), and a quote
with a store key no shop holds (the quote route's dependencies solved, the key's read in the
thread pool, a 401 refusal's JSON). They read nothing but that key's absence, write nothing, are
not logged nor counted (RequestLog skips a scope marked WARM_UP), and change no answer.
"""

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

logger = logging.getLogger("kinsave")

Message = MutableMapping[str, Any]
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]
WARM_UP = "kinsave.warm_up"  # in the scope's state: a start-up request, not a client's

# A well-formed store key no shop holds: keys are random (auth.service.create_api_key), and this
# one is refused (401) by the same read a real one goes through.
NO_SUCH_STORE_KEY = "ks_store_warm-up-no-shop-holds-this-key"
NO_ROUTE = "/v1/__warm-up__"
QUOTE = "/v1/store/checkout/quote"
QUOTE_BODY = b'{"shopper_id":"warm-up","lines":[{"sku":"warm-up","quantity":1,"unit_price":100}]}'


async def warm_up(app: ASGIApp) -> None:
    """Do the first requests' one-time work now; a failure is logged, never fatal (the process
    then pays it on its first requests, as it did before)."""
    try:
        await _request(app, "GET", NO_ROUTE, [])
        headers = [
            (b"authorization", f"Bearer {NO_SUCH_STORE_KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(QUOTE_BODY)),
        ]
        await _request(app, "POST", QUOTE, headers, QUOTE_BODY)
    except Exception as error:  # a database not ready at start is /readyz's to report
        logger.warning("start-up warm-up not done: %s", type(error).__name__)


async def _request(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> int:
    """One request through the app, its answer discarded: the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {WARM_UP: True},
    }
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:  # the app reads the body once; a second receive means the client left
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status
