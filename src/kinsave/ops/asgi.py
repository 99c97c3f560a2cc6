"""The ASGI callables `kinsave serve` hands its server (uvicorn or granian), built per process.

`served_app` is kinsave's app; with KINSAVE_BENCH_ENDPOINTS=1 a bare ASGI callable answers
`GET /v1/bench/bare` in front of it (the bench's physical limit: no framework, no middleware,
the same server and process). Under granian, forwarded headers are honoured only from
KINSAVE_TRUSTED_PROXIES, as uvicorn's --forwarded-allow-ips does (granian's own wrapper).
"""

import gc
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kinsave.app import create_app
from kinsave.config import get_settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

BARE_PATH = "/v1/bench/bare"
_BARE_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"11")]
_BARE_BODY = b'{"ok":true}'


def with_bare_endpoint(app: Asgi) -> Asgi:
    """`app`, except that GET /v1/bench/bare is answered here, before any framework code."""

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == BARE_PATH:
            await send({"type": "http.response.start", "status": 200, "headers": _BARE_HEADERS})
            await send({"type": "http.response.body", "body": _BARE_BODY})
            return
        await app(scope, receive, send)

    return bare


def served_app() -> Asgi:
    """kinsave's app as uvicorn serves it (uvicorn rewrites forwarded headers itself)."""
    settings = get_settings()
    app: Asgi = create_app(settings)
    # What exists now (modules, the app, its routes and schemas: about half a million objects)
    # lives as long as the process. Frozen, the collector's full passes no longer walk it: each
    # took ~80 ms of the only event loop under the checkout quote's load (docs/benchmarks.md).
    gc.freeze()
    return with_bare_endpoint(app) if settings.bench_endpoints else app


def granian_app() -> Asgi:
    """kinsave's app as granian serves it: forwarded headers from the trusted proxies only."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    app = served_app()
    proxies = get_settings().trusted_proxies
    if not proxies:
        return app
    hosts: list[str] | str = "*" if proxies == "*" else [p.strip() for p in proxies.split(",")]
    return wrap_asgi_with_proxy_headers(app, hosts)
