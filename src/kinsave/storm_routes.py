"""The three endpoints a holiday storm presses, on their batched paths, as lean Starlette routes.

`POST /v1/envelopes/{id}/grab`, `POST /v1/daily/{id}/claim` and `POST /v1/coupons/claim` (settings
`fast_grab`, `fast_daily`, `fast_coupon_claim`, all on by default) are mounted in front of the
documented FastAPI routes of the same paths (the first match wins). Same sign-in, rate limits,
body, Idempotency-Key, answers and error codes; the documented routes behind them stay the
contract in /openapi.json and serve when a setting is off.

Why not FastAPI routes: FastAPI's per-request dependency solving was over a third of a grab
request's event-loop time, and in a storm the event loop is what saturates first
(docs/benchmarks.md). These routes call the same dependency functions directly.

A request without an Idempotency-Key is handed to a batcher (group commit; on PostgreSQL one
pipelined round trip per batch) and awaited on the event loop, so it holds no thread while its
batch commits and a storm fills the batches. With an Idempotency-Key it runs alone in its own
unit of work on a pool thread, so that the first answer replays exactly.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from kinsave.api import batched_or_alone, idempotency_key
from kinsave.auth.deps import current_shopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.config import Settings
from kinsave.coupons import claims
from kinsave.coupons.schemas import ClaimIn
from kinsave.envelopes import daily_fastpath, fastpath
from kinsave.envelopes.daily_fastpath import DailyRequest
from kinsave.envelopes.fastpath import GrabRequest
from kinsave.ops.request_log import NamedRoute
from kinsave.security.deps import count_shopper_hit

Model = TypeVar("Model", bound=BaseModel)


def _one_target(
    rate_limited_action: str,
    path_param: str,
    batcher: str,
    item: Callable[[str, str], object],
    alone: Callable[[Session, str, str], BaseModel],
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint whose target (an envelope, a campaign) is in the path and is its lane key."""

    async def endpoint(request: Request) -> Response:
        shopper = await _signed_in(request, rate_limited_action)
        target = request.path_params[path_param]
        return await batched_or_alone(
            request,
            scope=shopper.scope,
            key=idempotency_key(request),
            batcher=getattr(request.app.state, batcher),
            item=item(target, shopper.shopper_id),
            order_key=target,
            alone=lambda session: alone(session, target, shopper.shopper_id),
        )

    return endpoint


grab_envelope = _one_target("grab", "envelope_id", "grab_batcher", GrabRequest, fastpath.grab_share)
claim_daily = _one_target(
    "claim", "campaign_id", "daily_batcher", DailyRequest, daily_fastpath.claim_daily
)


async def claim_coupon(request: Request) -> Response:
    shopper = await _signed_in(request, "coupon_claim")
    body = await _body(request, ClaimIn)
    gate = request.app.state.claim_gate
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key(request),
        batcher=request.app.state.coupon_batcher,
        item=claims.ClaimRequest(body.template_id, shopper.shopper_id, body.share_code),
        order_key=body.template_id,
        alone=lambda session: claims.claim_coupon(
            session, shopper.shopper_id, body.template_id, gate=gate, via_share=body.share_code
        ),
        body=body,
        status_code=201,
    )


async def _signed_in(request: Request, rate_limited_action: str) -> ShopperPrincipal:
    shopper = await current_shopper(request, request.headers.get("authorization"))
    await count_shopper_hit(request, rate_limited_action, shopper)
    return shopper


async def _body(request: Request, model: type[Model]) -> Model:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:  # the same 422 as FastAPI's own body validation
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
        ) from error


def routes(settings: Settings) -> list[BaseRoute]:
    """The storm routes the settings switch on; mount before the documented routes."""
    endpoints: list[tuple[bool, str, Callable[[Request], Awaitable[Response]]]] = [
        (settings.fast_grab, "/v1/envelopes/{envelope_id}/grab", grab_envelope),
        (settings.fast_daily, "/v1/daily/{campaign_id}/claim", claim_daily),
        (settings.fast_coupon_claim, "/v1/coupons/claim", claim_coupon),
    ]
    return [
        NamedRoute(path, endpoint, methods=["POST"], include_in_schema=False)
        for enabled, path, endpoint in endpoints
        if enabled
    ]
