"""Rate limits and share-code guessing detection as FastAPI dependencies, for any router.

    @router.post("/x", dependencies=[rate_limit("login")])  # no shopper: per IP and device
    def x(shopper: Annotated[ShopperPrincipal, rate_limited_shopper("grab")]): ...  # + shopper

A limit's value is the setting `rate_limit_<action>` when it exists ("<count>/<seconds>"), else
the default given here; so a router merged later needs no change in this package.
"""

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kinsave.auth import service as auth
from kinsave.auth.deps import SHOPPER_TOKEN, BearerScheme, current_shopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.security import audit
from kinsave.security.ratelimit import Limit, RateLimiter

logger = logging.getLogger("kinsave.security")
DEFAULT_LIMIT = "30/60"
# On the guarded routes (share codes in the path or body) both mean "no share with this code".
GUESS_ERRORS = {"token_unknown", "not_found"}


def client_ip(request: Request) -> str:
    # The peer address, or the client a trusted proxy forwarded: `kinsave serve` hands
    # KINSAVE_TRUSTED_PROXIES to uvicorn, which rewrites the client only for those peers.
    return request.client.host if request.client else "unknown"


def _limit(request: Request, action: str, default: str) -> Limit:
    return Limit.parse(str(getattr(request.app.state.settings, f"rate_limit_{action}", default)))


def _limiter(request: Request) -> RateLimiter | None:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    return limiter


def _subjects(request: Request, shopper_id: str | None) -> list[str]:
    subjects = [f"ip:{client_ip(request)}"]
    device = request.headers.get("x-device-hash")
    if device:
        subjects.append(f"device:{device[:64]}")
    if shopper_id:
        subjects.append(f"shopper:{shopper_id}")
    return subjects


def rate_limit(action: str, default: str = DEFAULT_LIMIT) -> Any:
    """Per IP and device: for endpoints without a shopper (sign-in, store calls, open links)."""

    def dependency(request: Request) -> None:
        limiter = _limiter(request)
        if limiter is not None:
            for subject in _subjects(request, None):
                limiter.hit(action, subject, _limit(request, action, default))

    return Depends(dependency)


class RateLimitedShopper(BearerScheme):
    """The signed-in shopper (`current_shopper`), counted per shopper, device and IP against
    `action`'s rate limit, as ONE dependency: the one way every rate-limited shopper route (grab,
    claims, help, groups, link codes) takes its shopper. A separate limit dependency plus
    `CurrentShopper` solved four dependencies for the same answer, and FastAPI's solving was a
    quarter of a refused tap's server time (docs/benchmarks.md, "Storm taps, session 7"). It is
    the `ShopperToken` bearer scheme itself, so the OpenAPI document is unchanged."""

    def __init__(self, action: str, default: str = DEFAULT_LIMIT) -> None:
        super().__init__(SHOPPER_TOKEN.scheme_name, SHOPPER_TOKEN.model.description or "")
        self.action, self.default = action, default

    async def __call__(self, request: Request) -> ShopperPrincipal:  # type: ignore[override]
        shopper = await current_shopper(request, request.headers.get("authorization"))
        await count_shopper_hit(request, self.action, shopper, self.default)
        return shopper


def rate_limited_shopper(action: str, default: str = DEFAULT_LIMIT) -> Any:
    """`Annotated[ShopperPrincipal, rate_limited_shopper("grab")]`: see RateLimitedShopper."""
    return Depends(RateLimitedShopper(action, default))


async def count_shopper_hit(
    request: Request, action: str, shopper: ShopperPrincipal, default: str = DEFAULT_LIMIT
) -> None:
    """`RateLimitedShopper`'s check: counts this hit against every subject's limit."""
    limiter = _limiter(request)
    if limiter is not None:  # counting talks to Redis or the database: off the event loop
        await run_in_threadpool(_hit_all, request, limiter, action, default, shopper)


def _hit_all(
    request: Request, limiter: RateLimiter, action: str, default: str, shopper: ShopperPrincipal
) -> None:
    for subject in _subjects(request, shopper.shopper_id):
        limiter.hit(action, subject, _limit(request, action, default))


def _caller_subjects(request: Request) -> list[str]:
    subjects = [f"ip:{client_ip(request)}"]
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:24]
        subjects.append(f"caller:{digest}")
    return subjects


def guard_share_codes(request: Request) -> Iterator[None]:
    """Refuse callers (IP, API key or session) that sent too many unknown share codes recently;
    count each unknown code; the first time a caller crosses the line it is logged and, for a
    store key, written to the shop's audit log."""
    limiter = _limiter(request)
    if limiter is None:
        yield
        return
    limit = _limit(request, "token_unknown", "20/600")
    for subject in _caller_subjects(request):
        limiter.check("token_unknown", subject, limit)
    try:
        yield
    except KinsaveError as error:
        if error.code in GUESS_ERRORS:
            _count_guess(request, limiter, limit)
        raise


def _count_guess(request: Request, limiter: RateLimiter, limit: Limit) -> None:
    for subject in _caller_subjects(request):
        count, _ = limiter.count("token_unknown", subject, limit, add=1)
        if count == limit.count:
            logger.warning("share-code guessing from %s on %s", subject, request.url.path)
            _audit_guessing(request, subject, count)


def _audit_guessing(request: Request, subject: str, count: int) -> None:
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer ks_"):
        return
    with unit_of_work(request.app.state.session_factory) as session:
        try:
            shop = auth.resolve_api_key(session, authorization[7:].strip(), "store")
        except KinsaveError:
            return
        audit.record(
            session,
            shop_id=shop.shop_id,
            actor="kinsave",
            action="share_code_guessing",
            target=subject,
            details=f"{count} unknown share codes from {client_ip(request)}; now refused",
        )


GuardShareCodes = Depends(guard_share_codes)
