"""FastAPI dependencies that turn a Bearer header (or the pages' cookie) into a principal."""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from kinsave.auth import service
from kinsave.auth.key_cache import StoreKeyCache
from kinsave.auth.loop_reads import LoopSessionReads
from kinsave.auth.schemas import ShopperPrincipal, ShopPrincipal
from kinsave.auth.session_cache import SessionCache
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError

# The mini app's pages keep the shopper's session token in an HttpOnly cookie. A cookie is sent
# by the browser on its own, so a state-changing request authenticated by it must also prove it
# came from our own script: a header equal to the (readable, non-HttpOnly) CSRF cookie.
SESSION_COOKIE = "ks_session"
CSRF_COOKIE = "ks_csrf"
CSRF_HEADER = "X-Kinsave-CSRF"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise KinsaveError("unauthorized", "send Authorization: Bearer <token>")
    return authorization[7:].strip()


_bearer = bearer_token
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class BearerScheme(HTTPBearer):
    """An HTTP bearer security scheme in the OpenAPI document (one per kind of credential) that
    hands the raw Authorization header to the dependency, which refuses a bad one itself (401
    `unauthorized`, the one error body) exactly as before."""

    def __init__(self, name: str, description: str) -> None:
        super().__init__(scheme_name=name, description=description, auto_error=False)

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return request.headers.get("authorization")


SHOPPER_TOKEN = BearerScheme(
    "ShopperToken",
    "A shopper's session token (from /v1/auth/*). The mini app's pages send it in the "
    f"HttpOnly `{SESSION_COOKIE}` cookie instead, with the `{CSRF_HEADER}` header on writes.",
)
OPERATOR_KEY = BearerScheme("OperatorKey", "An operator API key of a shop (`ks_op_...`).")
STORE_KEY = BearerScheme("StoreKey", "A store server's API key of a shop (`ks_store_...`).")


# Authentication reads in its own short transaction so that the request's write transaction
# (on SQLite, an immediate write lock) starts only once we know who is calling. Async, so that
# a session the cache remembers (session_cache_seconds) costs no thread hop; else it is looked
# up in Redis when sessions are kept there (PostgreSQL: auth/shared_sessions.py, one MGET per
# loop turn); on SQLite read on the loop itself (auth/loop_reads.py); else (a Redis miss, no
# Redis on PostgreSQL, a busy SQLite) handed to the session batcher, which reads a storm's new
# tokens together (and writes them back to Redis).
async def current_shopper(
    request: Request, authorization: Annotated[str | None, Depends(SHOPPER_TOKEN)] = None
) -> ShopperPrincipal:
    token = _bearer(authorization) if authorization else _session_cookie(request)
    if token.startswith(("ks_op_", "ks_store_")):
        raise KinsaveError("unauthorized", "this endpoint needs a shopper session, not an API key")
    cache: SessionCache = request.app.state.session_cache
    remembered = cache.peek(token)
    if remembered is not None:
        return remembered
    if cache.shared is not None:
        found = await cache.find_shared(token)
        if isinstance(found, KinsaveError):
            raise found
        if found is not None:
            return found
    # SQLite only (PostgreSQL has no loop reads; Redis keeps sessions for PostgreSQL alone,
    # shared_sessions_for), with the other tokens of this loop turn. A Redis miss goes to the
    # batcher, whose read writes the key back.
    loop_reads: LoopSessionReads | None = request.app.state.loop_session_reads
    read_here = await loop_reads.find(token) if loop_reads else None
    if read_here is not None:
        answer = cache.answer(token, read_here)
        if isinstance(answer, KinsaveError):
            raise answer
        return answer
    principal: ShopperPrincipal = await request.app.state.session_batcher.submit(
        token, order_key=token
    )
    return principal


def _session_cookie(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise KinsaveError("unauthorized", "send Authorization: Bearer <token>")
    if request.method not in SAFE_METHODS and not csrf_matches(request):
        raise KinsaveError("forbidden", f"a cookie session needs the {CSRF_HEADER} header")
    return token


def csrf_matches(request: Request, supplied: str | None = None) -> bool:
    """The request carries the CSRF cookie's value (in the header, or `supplied` from a form)."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = supplied if supplied is not None else request.headers.get(CSRF_HEADER, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def _shop_principal(request: Request, authorization: str | None, role: str) -> ShopPrincipal:
    key = _bearer(authorization)
    with unit_of_work(request.app.state.read_session_factory) as session:
        principal = service.resolve_api_key(session, key, role)
    request.state.shop_id = principal.shop_id  # for the access log (ops/request_log.py)
    return principal


def current_operator(
    request: Request, authorization: Annotated[str | None, Depends(OPERATOR_KEY)] = None
) -> ShopPrincipal:
    """The operator's shop. A read-only key may only read; every other request is audited (the
    request's write session logs it before committing, see security.audit)."""
    principal = _shop_principal(request, authorization, "operator")
    if principal.access != "full" and request.method not in READ_METHODS:
        raise KinsaveError("forbidden", "this API key is read-only")
    request.state.operator = principal
    return principal


async def current_store(
    request: Request, authorization: Annotated[str | None, Depends(STORE_KEY)] = None
) -> ShopPrincipal:
    """The store's shop. Async, so that a key the process remembers (auth/key_cache.py: at most
    STORE_KEY_TTL_SECONDS after its revocation) costs no thread hop and no database read."""
    key_hash = service.api_key_hash(_bearer(authorization))
    cache: StoreKeyCache = request.app.state.store_key_cache
    principal = await cache.principal(
        key_hash, lambda: run_in_threadpool(_shop_principal, request, authorization, "store")
    )
    # Remembered, or read by another request meanwhile: the access log still names the shop.
    request.state.shop_id = principal.shop_id
    return principal


class StoreKeyScheme(BearerScheme):
    """`current_store` as ONE dependency that takes the request alone: the `StoreKey` bearer
    scheme itself (so the OpenAPI document is unchanged), answering the store's shop. As a
    dependency with the scheme beneath it, the quote could not take StormRoute's short way past
    FastAPI's generic dependency solving (storm_route.py), a sixteenth of its server time
    (docs/benchmarks.md, "Ninth round"). security.deps.RateLimitedShopper is the same idea."""

    def __init__(self) -> None:
        super().__init__(STORE_KEY.scheme_name, STORE_KEY.model.description or "")

    async def __call__(self, request: Request) -> ShopPrincipal:  # type: ignore[override]
        return await current_store(request, request.headers.get("authorization"))


CurrentShopper = Annotated[ShopperPrincipal, Depends(current_shopper)]
CurrentOperator = Annotated[ShopPrincipal, Depends(current_operator)]
CurrentStore = Annotated[ShopPrincipal, Depends(StoreKeyScheme())]
