"""HTTP for shares: shoppers create and revoke them, the store resolves tokens, anyone opens a
short link or its landing page."""

from pathlib import Path

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from kinsave.api import DbSession, Once, ReadSession
from kinsave.auth.deps import CurrentShopper, CurrentStore
from kinsave.db import utcnow
from kinsave.errors import openapi_errors
from kinsave.security.deps import GuardShareCodes, rate_limit
from kinsave.sharing import bots, events, landing, opening, render, service, store_landing
from kinsave.sharing.schemas import (
    ResolveIn,
    ResolveOut,
    ShareIn,
    ShareOut,
    StoreLandingIn,
    StoreLandingOut,
    StoreVisitIn,
    StoreVisitOut,
)
from kinsave.telegram import identity as telegram_identity

router = APIRouter(tags=["sharing"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _telegram_app(request: Request) -> str | None:
    return telegram_identity.mini_app_base(request.app.state.settings)


IDEMPOTENT = ("idempotency_key_reused", "idempotency_in_progress")


@router.post(
    "/v1/shares",
    response_model=ShareOut,
    status_code=201,
    responses=openapi_errors(
        "unauthorized",
        "forbidden",
        "not_found",
        "invalid_request",
        "campaign_not_active",
        "campaign_not_publishable",
        "target_unavailable",
        *IDEMPOTENT,
    ),
)
def create_share(
    body: ShareIn,
    shopper: CurrentShopper,
    once: Once,
) -> JSONResponse:
    """Share a deal, coupon, envelope or help request on a channel: every form it allows."""
    return once(
        shopper.scope,
        lambda: service.create_share(
            once.session,
            shopper.shopper_id,
            body,
            base_url=_base_url(once.request),
            now=utcnow(),
            telegram_app=_telegram_app(once.request),
        ),
        body=body,
        status_code=201,
    )


@router.delete("/v1/shares/{code}", status_code=204)
def revoke_share(code: str, shopper: CurrentShopper, session: DbSession) -> Response:
    service.revoke_share(session, code, sharer_id=shopper.shopper_id, now=utcnow())
    return Response(status_code=204)


@router.post("/v1/shares/{code}/accept", response_model=ResolveOut, dependencies=[GuardShareCodes])
def accept_share(
    code: str,
    shopper: CurrentShopper,
    session: DbSession,
    x_device_hash: str | None = Header(default=None, max_length=64),
) -> ResolveOut:
    """The signed-in shopper opened this share in the mini app (a touch for attribution)."""
    return opening.accept_share(
        session, shopper.shopper_id, code, device_hash=x_device_hash, now=utcnow()
    )


@router.get("/v1/shares/{code}/qr.png", response_class=Response)
def share_qr_png(code: str, request: Request, session: ReadSession) -> Response:
    content = landing.qr_content(
        session,
        code,
        base_url=_base_url(request),
        now=utcnow(),
        telegram_app=_telegram_app(request),
    )
    return Response(render.qr_png(content), media_type="image/png")


@router.post(
    "/v1/store/tokens/resolve",
    response_model=ResolveOut,
    dependencies=[rate_limit("resolve"), GuardShareCodes],
    responses=openapi_errors(
        "unauthorized",
        "forbidden",
        "token_unknown",
        "token_not_found_in_text",
        "invalid_request",
        "token_revoked",
        "token_expired",
        "token_used_up",
        "target_unavailable",
        "shopper_not_linked",
        "rate_limited",
        *IDEMPOTENT,
    ),
)
def resolve_token(
    body: ResolveIn,
    store: CurrentStore,
    once: Once,
) -> JSONResponse:
    """Resolve pasted text to the share's target and the store page its landing template names;
    `attribution` goes back with the order. With `shopper_id`, the coupon the share carries is
    claimed for that shopper (`claimed_coupons`, the same one on a repeat), or `coupon_refusal`
    says why not. Each resolve uses the share once (its use limit): send an Idempotency-Key to
    retry safely."""
    return once(
        store.scope,
        lambda: opening.resolve_token(
            once.session,
            store.shop_id,
            body,
            base_url=_base_url(once.request),
            now=utcnow(),
        ),
        body=body,
    )


@router.put(
    "/v1/store/landing",
    response_model=StoreLandingOut,
    responses=openapi_errors(
        "unauthorized", "forbidden", "landing_template_invalid", "invalid_request"
    ),
)
def put_store_landing(
    body: StoreLandingIn, store: CurrentStore, session: DbSession
) -> StoreLandingOut:
    """Register where each kind of share lands in the store (replaces the previous set)."""
    return store_landing.put_landing(session, store.shop_id, body, utcnow())


@router.get(
    "/v1/store/landing",
    response_model=StoreLandingOut,
    responses=openapi_errors("unauthorized", "forbidden"),
)
def get_store_landing(store: CurrentStore, session: ReadSession) -> StoreLandingOut:
    return store_landing.get_landing(session, store.shop_id)


@router.post(
    "/v1/store/visits",
    response_model=StoreVisitOut,
    status_code=201,
    dependencies=[rate_limit("resolve")],
)
def record_store_visit(
    body: StoreVisitIn, store: CurrentStore, session: DbSession
) -> StoreVisitOut:
    """The store reports a shopper who arrived through a share (the funnel's store visits)."""
    return events.record_store_visit(session, store.shop_id, body, utcnow())


@router.get(
    "/s/{code}",
    response_class=RedirectResponse,
    status_code=302,
    dependencies=[GuardShareCodes],
)
def open_short_link(
    code: str,
    request: Request,
    session: DbSession,
    user_agent: str | None = Header(default=None),
) -> RedirectResponse:
    """Count the open (not for bots and link-preview crawlers) and redirect where the channel
    allows: the store's page, or kinsave's landing page with the token to copy."""
    opened = opening.open_link(
        session,
        code,
        is_bot=bots.is_bot(user_agent),
        base_url=_base_url(request),
        now=utcnow(),
    )
    return RedirectResponse(opened.location, status_code=302)


@router.get("/app/s/{code}", response_class=HTMLResponse)
def landing_page(code: str, request: Request, session: ReadSession) -> HTMLResponse:
    view = landing.landing_view(session, code, base_url=_base_url(request), now=utcnow())
    return templates.TemplateResponse(request, "landing.html", {"landing": view}, status_code=200)
