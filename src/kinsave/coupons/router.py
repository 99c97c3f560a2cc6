from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from kinsave.api import DbSession, IdempotencyKey, Once, ReadSession, batched_or_alone
from kinsave.auth.deps import CurrentOperator, CurrentShopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.contract import operation_name
from kinsave.coupons import claims, deals, service
from kinsave.coupons.schemas import (
    CenterOut,
    ClaimIn,
    CouponListOut,
    CouponOut,
    DealListOut,
    State,
    TemplateIn,
    TemplateListOut,
    TemplateOut,
)
from kinsave.errors import openapi_errors
from kinsave.security.deps import rate_limited_shopper

admin_router = APIRouter(prefix="/v1/admin/coupon-templates", tags=["admin: coupons"])
# A storm router (app.STORM_ROUTERS): served as its own routes, its operationIds named here.
router = APIRouter(prefix="/v1", tags=["coupons"], generate_unique_id_function=operation_name)
# The claim's one dependency: the signed-in shopper, counted against the claim's limit.
ClaimingShopper = Annotated[ShopperPrincipal, rate_limited_shopper("coupon_claim")]


@admin_router.post(
    "",
    responses=openapi_errors("invalid_amount", "not_found"),
    response_model=TemplateOut,
    status_code=201,
)
def create_template(
    body: TemplateIn,
    operator: CurrentOperator,
    once: Once,
) -> JSONResponse:
    return once(
        operator.scope,
        lambda: service.create_template(once.session, operator.shop_id, body),
        body=body,
        status_code=201,
    )


@admin_router.get("", response_model=TemplateListOut)
def list_templates(operator: CurrentOperator, session: ReadSession) -> TemplateListOut:
    """The shop's templates with their stock left."""
    return service.list_templates(session, operator.shop_id)


@admin_router.get("/{template_id}", response_model=TemplateOut)
def get_template(template_id: str, operator: CurrentOperator, session: ReadSession) -> TemplateOut:
    return service.template_out(service.owned_template(session, operator.shop_id, template_id))


@admin_router.post(
    "/{template_id}/{action}",
    responses=openapi_errors("not_found", "conflict"),
    response_model=TemplateOut,
)
def change_template(
    template_id: str,
    action: Literal["pause", "resume", "end"],
    operator: CurrentOperator,
    session: DbSession,
) -> TemplateOut:
    """Pause, resume or end claiming. Coupons already claimed stay valid until their expiry."""
    return service.set_template_status(session, operator.shop_id, template_id, action)


@router.post(
    "/coupons/claim",
    responses=openapi_errors(
        "not_found",
        "coupon_not_claimable",
        "coupon_expired",
        "coupon_limit_reached",
        "coupon_sold_out",
    ),
    response_model=CouponOut,
    status_code=201,
)
async def claim_coupon(
    body: ClaimIn,
    request: Request,
    shopper: ClaimingShopper,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """One coupon of the template, through the share `share_code` if given. Without an
    Idempotency-Key the claim joins the next batch (the claim batcher, behind the coupon gate,
    gates/); with one, it runs alone so that a retry replays it."""
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key,
        batcher=request.app.state.coupon_batcher,
        item=claims.ClaimRequest(body.template_id, shopper.shopper_id, body.share_code),
        order_key=body.template_id,
        alone=lambda session: claims.claim_coupon(
            session, shopper.shopper_id, body.template_id, via_share=body.share_code
        ),
        body=body,
        status_code=201,
    )


@router.get("/coupons", response_model=CouponListOut)
def my_coupons(
    shopper: CurrentShopper,
    session: ReadSession,
    state: State | None = None,
    shop_id: str | None = None,
) -> CouponListOut:
    return service.my_coupons(session, shopper.shopper_id, state=state, shop_id=shop_id)


@router.get("/coupons/center", response_model=CenterOut)
def coupon_center(
    shopper: CurrentShopper, session: ReadSession, shop_id: str | None = None
) -> CenterOut:
    """The coupons I can still claim."""
    return service.coupon_center(session, shopper.shopper_id, shop_id)


@router.get("/deals", response_model=DealListOut)
def list_deals(
    shopper: CurrentShopper,
    session: ReadSession,
    shop_id: str | None = None,
    category: str | None = None,
    min_price: Annotated[int | None, Query(ge=0)] = None,
    max_price: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DealListOut:
    """Products, cheapest after the best coupon I hold or can claim, with that coupon."""
    return deals.list_deals(
        session,
        shopper.shopper_id,
        shop_id=shop_id,
        category=category,
        min_price=min_price,
        max_price=max_price,
        limit=limit,
        offset=offset,
    )
