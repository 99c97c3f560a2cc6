"""One access-log line per request, with a request id the client may supply (X-Request-Id), and
the request's count and latency in the metrics (ops/metrics.py).

Pure ASGI, like the security middleware: BaseHTTPMiddleware's extra task and streams would cost
every storm request. The line names the route's template (`/v1/envelopes/{envelope_id}/grab`),
never the raw path or query, so share codes, tokens and ids in URLs stay out of the logs; no
header is logged. An exception no handler took is logged here with its stack trace and the
request id, and the client gets a 500 body with that id and nothing else.
"""

import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kinsave.ops import metrics
from kinsave.ops.warm_up import WARM_UP

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ACCESS_LOGGER = "kinsave.access"
access_log = logging.getLogger(ACCESS_LOGGER)
REQUEST_ID_HEADER = b"x-request-id"
# A client's id is kept only if it is short and plain (no spaces, quotes or control characters
# to forge log lines with); anything else is replaced by a fresh one.
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "<unmatched>"


def request_id_of(scope: Scope) -> str:
    """The request's id (set by RequestLog), for error bodies and logs; "" outside a request."""
    return str(scope.get("state", {}).get("request_id", ""))


def _client_request_id(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers") or ():
        if name == REQUEST_ID_HEADER:
            return value if SANE_REQUEST_ID.fullmatch(value) else None
    return None


def route_template(scope: Scope, outer_root_path: str) -> str:
    """The matched route's path template, under the prefix of any mount it sits in."""
    mount_prefix = str(scope.get("root_path", ""))[len(outer_root_path) :]
    path = getattr(scope.get("route"), "path", None)
    if path is not None:
        return f"{mount_prefix}{path}"
    if mount_prefix:  # a mounted app without routes of its own (static files)
        return f"{mount_prefix}/{{path}}"
    return UNMATCHED


class RequestLog:
    """Give every request an id (echoed in X-Request-Id), log one line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The start-up's own requests (ops/warm_up.py) are no client's: not logged, not counted.
        if scope["type"] != "http" or WARM_UP in scope.get("state", ()):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        supplied = _client_request_id(scope)
        # 32 random hex digits, as uuid4().hex has them, without building a UUID (a tenth of
        # the access line's cost, docs/benchmarks.md).
        request_id = supplied.decode() if supplied else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        outer_root_path = str(scope.get("root_path", ""))
        id_header = (REQUEST_ID_HEADER, supplied or request_id.encode())
        status = 0

        async def with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*(message.get("headers") or ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, with_request_id)
        except Exception:
            if status == 0:  # nothing sent yet: answer a plain 500 with the id to quote
                await _send_internal_error(with_request_id, request_id)
            _log(scope, outer_root_path, status or 500, started, failed=True)
            return
        _log(scope, outer_root_path, status, started, failed=False)


def _log(scope: Scope, outer_root_path: str, status: int, started: float, *, failed: bool) -> None:
    seconds = time.perf_counter() - started
    route = route_template(scope, outer_root_path)
    method = scope.get("method", "")
    metrics.observe_request(method, route, status, seconds)
    level = logging.ERROR if failed else logging.INFO
    if access_log.isEnabledFor(level):
        access_log.handle(_access_record(scope, method, route, status, seconds, level))


def _access_record(
    scope: Scope, method: str, route: str, status: int, seconds: float, level: int
) -> logging.LogRecord:
    """The access line, with its fields as the record's attributes (`extra`).

    Made here, not by Logger.log: that walks the stack for the caller's file and line and checks
    `extra` key by key, a third of the line's cost on every request (docs/benchmarks.md). Same
    logger, level, message and fields; the record factory an instrumentation installs makes it.
    """
    latency_ms = round(seconds * 1000, 2)
    state = scope.get("state", {})
    request_id = state.get("request_id", "")
    shop_id = state.get("shop_id")
    message = f"{method} {route} {status} {latency_ms}ms id={request_id}"
    if shop_id:
        message += f" shop={shop_id}"
    failure = sys.exc_info() if level == logging.ERROR else None  # called in the except block
    record = logging.getLogRecordFactory()(
        ACCESS_LOGGER, level, __file__, _LOG_LINE, message, None, failure, "_log"
    )
    record.__dict__.update(
        request_id=request_id,
        method=method,
        route=route,
        status=status,
        latency_ms=latency_ms,
        shop_id=shop_id,
    )
    return record


_LOG_LINE = _log.__code__.co_firstlineno


async def _send_internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "internal_error",
                "message": "something went wrong on our side",
                "request_id": request_id,
            }
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
