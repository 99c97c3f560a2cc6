"""ASGI middleware that refuses hostile request bodies and adds security headers to responses.

Pure ASGI (not BaseHTTPMiddleware) so that the body is read once, bounded, before any router or
the JSON parser sees it; routers added later (coupons, pages) are covered without changes.
"""

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Pages may override these per response (the web package sets its own CSP): only missing headers
# are added. Strict by default: no inline script, no framing, no plugins.
# The one hash: the share landing page's Copy button (sharing/templates/landing.html), the only
# inline handler kinsave ships; any other inline script is blocked.
LANDING_COPY_HANDLER = "'sha256-2DOw6b9LOU3HJlqv1Ui0qp0IdLC7uW6ZHTkL7/0/E+c='"
HTML_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-hashes' {LANDING_COPY_HANDLER}; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
ALWAYS_HEADERS = tuple(ALWAYS.items())
HSTS = b"max-age=31536000; includeSubDomains"
BODY_STATE_KEY = "kinsave_raw_body"


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# A JSON string (or an unterminated one up to the end), escapes included: skipped by json_depth.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\[\s\S][^"\\]*)*(?:"|\\?\Z)')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')


def json_depth(body: bytes) -> int:
    """How deeply arrays/objects nest, counted without parsing (strings skipped).

    Strings and everything but brackets are dropped by the regex engine and bytes.translate, so
    Python walks only the brackets: a byte-by-byte walk of a 30-line checkout quote cost more
    than validating it (docs/benchmarks.md). tests/security compares it with that walk.
    """
    if b"\\" in body:  # escapes: a regex finds where each string ends
        outside = _JSON_STRING.sub(b"", body)
    else:  # between the quotes: every second piece is a string (an unterminated one, the last)
        outside = b"".join(_marks(body).split(b'"')[::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte == 0x5B or byte == 0x7B:  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def _marks(body: bytes) -> bytes:
    """The body's brackets and quotes only, without its adjacent pairs of quotes: two quotes
    side by side enclose (or separate) no bracket, so dropping them leaves every bracket on its
    side of every string, and a checkout's 200 keys and SKUs leave no piece to split."""
    return body.translate(None, _NOT_MARKS).replace(b'""', b"")


def nested_deeper(body: bytes, limit: int) -> bool:
    """Whether the JSON nests deeper than `limit`. A body that opens no more than `limit`
    arrays and objects (strings included) cannot: a checkout quote's 30 lines open 32, counted
    at C speed (a sixth of json_depth's walk, docs/benchmarks.md)."""
    marks = body.translate(None, _NOT_MARKS)
    if marks.count(b"[") + marks.count(b"{") <= limit:
        return False
    return json_depth(body) > limit


class HostileInputGuard:
    """Refuse bodies over `max_body_bytes` (413) and JSON nested deeper than `max_json_depth`."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        if _without_body(scope, headers):  # a GET, a storm's tap: nothing to read or replay
            scope[BODY_STATE_KEY] = b""
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(headers, receive)
        except Refusal as refusal:
            await _send_error(send, refusal)
            return
        scope[BODY_STATE_KEY] = body  # the audit log records what an operator sent
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            raise _too_large(self.max_body_bytes)
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks += message.get("body", b"")
            if len(chunks) > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            if not message.get("more_body", False):
                break
        body = bytes(chunks)
        if b"json" in headers.get(b"content-type", b"") and nested_deeper(
            body, self.max_json_depth
        ):
            raise Refusal(
                422, "invalid_request", f"JSON nested deeper than {self.max_json_depth} levels"
            )
        return body


def _without_body(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """An HTTP/1 request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112,
    6.3); HTTP/2 may send one without either, so its requests are always read."""
    return (
        scope.get("http_version") in ("1.1", "1.0")
        and b"content-length" not in headers
        and b"transfer-encoding" not in headers
    )


def _too_large(limit: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"the request body is over {limit} bytes")


async def _send_error(send: Send, refusal: Refusal) -> None:
    body = json.dumps({"error": {"code": refusal.code, "message": refusal.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    # Close the connection: the unread rest of an oversized body must not be parsed as a request.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Add nosniff, framing and referrer headers to every response; a CSP to every HTML page;
    HSTS when the request came over TLS (directly or via a proxy's X-Forwarded-Proto)."""

    def __init__(self, app: ASGIApp, *, csp: str = HTML_CSP) -> None:
        self.app = app
        self.csp = csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = is_tls(scope)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._add(list(message.get("headers") or []), tls)
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, headers: list[tuple[bytes, bytes]], tls: bool) -> list[tuple[bytes, bytes]]:
        present = {name.lower(): value for name, value in headers}
        headers += [header for header in ALWAYS_HEADERS if header[0] not in present]
        if (
            present.get(b"content-type", b"").startswith(b"text/html")
            and b"content-security-policy" not in present
        ):
            headers.append((b"content-security-policy", self.csp))
        if tls and b"strict-transport-security" not in present:
            headers.append((b"strict-transport-security", HSTS))
        return headers


def is_tls(scope: Scope) -> bool:
    """True when the client reached us over HTTPS (uvicorn --proxy-headers sets the scheme)."""
    if scope.get("scheme") == "https":
        return True
    headers = dict(scope.get("headers") or [])
    return headers.get(b"x-forwarded-proto", b"").split(b",")[0].strip() == b"https"
