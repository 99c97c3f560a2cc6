"""HTTP for store links: the signed-in shopper issues codes, lists and ends links; the store
registers its browser sign-in, exchanges codes, and reads a linked shopper's wallet and coupons."""

from typing import Annotated

from fastapi import APIRouter, Request, Response

from kinsave.api import DbSession, ReadSession
from kinsave.auth.deps import CurrentShopper, CurrentStore
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.db import utcnow
from kinsave.errors import openapi_errors
from kinsave.security.deps import rate_limit, rate_limited_shopper
from kinsave.storelinks import link_requests, service
from kinsave.storelinks.schemas import (
    LinkCodeIn,
    LinkCodeOut,
    LinkExchangeIn,
    LinkExchangeOut,
    LinkRequestIn,
    LinkRequestOut,
    ShopperCouponsOut,
    ShopperWalletOut,
    StoreLinkListOut,
)

router = APIRouter(tags=["store links"])
# The signed-in shopper, counted against the action's rate limit: one dependency.
LinkingShopper = Annotated[ShopperPrincipal, rate_limited_shopper("link_code")]
CALLER = ("unauthorized", "forbidden", "invalid_request", "rate_limited")


@router.post(
    "/v1/store-links",
    response_model=LinkCodeOut,
    status_code=201,
    responses=openapi_errors(*CALLER, "not_found"),
)
def issue_link_code(
    body: LinkCodeIn, shopper: LinkingShopper, session: DbSession, request: Request
) -> LinkCodeOut:
    """A short-lived, single-use code that lets this shop's store link to the signed-in shopper."""
    ttl = request.app.state.settings.store_link_code_ttl_seconds
    return service.issue_link_code(
        session, shopper.shopper_id, body.shop_id, ttl_seconds=ttl, now=utcnow()
    )


@router.get(
    "/v1/store-links",
    response_model=StoreLinkListOut,
    responses=openapi_errors("unauthorized", "forbidden"),
)
def list_links(shopper: CurrentShopper, session: ReadSession) -> StoreLinkListOut:
    """The shops whose stores may act for the signed-in shopper."""
    return service.list_links(session, shopper.shopper_id)


@router.delete(
    "/v1/store-links/{shop_id}",
    status_code=204,
    responses=openapi_errors("unauthorized", "forbidden", "not_found"),
)
def unlink(shop_id: str, shopper: CurrentShopper, session: DbSession) -> Response:
    """End the link: the shop's store is refused from now on (`shopper_not_linked`)."""
    service.unlink(session, shopper.shopper_id, shop_id, utcnow())
    return Response(status_code=204)


@router.post(
    "/v1/store/link-requests",
    response_model=LinkRequestOut,
    status_code=201,
    responses=openapi_errors(*CALLER[:3], "return_url_invalid"),
)
def create_link_request(
    body: LinkRequestIn, store: CurrentStore, session: DbSession, request: Request
) -> LinkRequestOut:
    """Register where the shopper's browser comes back; send the browser to `authorize_url`."""
    return link_requests.create_link_request(
        session,
        store.shop_id,
        body,
        base_url=str(request.base_url).rstrip("/"),
        now=utcnow(),
    )


@router.post(
    "/v1/store/links",
    response_model=LinkExchangeOut,
    dependencies=[rate_limit("link_exchange", "60/60")],
    responses=openapi_errors(*CALLER, "link_code_invalid", "link_code_expired"),
)
def exchange_link_code(
    body: LinkExchangeIn, store: CurrentStore, session: DbSession
) -> LinkExchangeOut:
    """Exchange a link code (single use) for the shopper's id; the link begins."""
    return service.exchange_link_code(session, store.shop_id, body.code, utcnow())


@router.get(
    "/v1/store/shoppers/{shopper_id}/wallet",
    response_model=ShopperWalletOut,
    responses=openapi_errors("unauthorized", "forbidden", "shopper_not_linked"),
)
def shopper_wallet(shopper_id: str, store: CurrentStore, session: ReadSession) -> ShopperWalletOut:
    """A linked shopper's credit at this shop."""
    return service.shopper_wallet(session, store.shop_id, shopper_id)


@router.get(
    "/v1/store/shoppers/{shopper_id}/coupons",
    response_model=ShopperCouponsOut,
    responses=openapi_errors("unauthorized", "forbidden", "shopper_not_linked"),
)
def shopper_coupons(
    shopper_id: str, store: CurrentStore, session: ReadSession
) -> ShopperCouponsOut:
    """A linked shopper's coupons of this shop, newest first, with their states."""
    return service.shopper_coupons(session, store.shop_id, shopper_id, utcnow())
