from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response

from kinsave.api import IdempotencyKey, Once, ReadSession, batched_or_alone
from kinsave.auth.deps import CurrentOperator, CurrentShopper
from kinsave.auth.schemas import ShopperPrincipal
from kinsave.errors import openapi_errors
from kinsave.groups import joining, service, starting, views
from kinsave.groups.arrival import Arrival
from kinsave.groups.schemas import (
    GroupDealIn,
    GroupDealListOut,
    GroupDealOut,
    GroupDealPublicOut,
    GroupDealStatusIn,
    GroupOut,
    MyGroupsOut,
)
from kinsave.security.deps import rate_limited_shopper

admin_router = APIRouter(prefix="/v1/admin/group-deals", tags=["admin: group deals"])
router = APIRouter(prefix="/v1", tags=["group deals"])
# The signed-in shopper, counted against the action's rate limit: one dependency.
StartingShopper = Annotated[ShopperPrincipal, rate_limited_shopper("group_start")]
JoiningShopper = Annotated[ShopperPrincipal, rate_limited_shopper("group_join")]
DeviceHash = Annotated[
    str | None,
    Header(
        alias="X-Device-Hash",
        max_length=64,
        description="The shopper's device, so a second account on it cannot fill a group",
    ),
]
ShareCode = Annotated[
    str | None,
    Header(
        alias="X-Share-Code",
        max_length=40,
        description="The share of this group the shopper came through: the join is "
        "attributed to it and arrives through its channel",
    ),
]
Channel = Annotated[
    str | None,
    Header(
        alias="X-Channel",
        max_length=32,
        description="The channel (host) the request comes through when not through a share; "
        "a deal limited to some channels refuses others",
    ),
]


@admin_router.post(
    "",
    responses=openapi_errors("not_found", "invalid_request"),
    response_model=GroupDealOut,
    status_code=201,
)
def create_group_deal(body: GroupDealIn, operator: CurrentOperator, once: Once) -> JSONResponse:
    """Offer a product of the store's catalog at a group price once N shoppers join a group."""
    return once(
        operator.scope,
        lambda: service.create_deal(once.session, operator.shop_id, body),
        body=body,
        status_code=201,
    )


@admin_router.get("", response_model=GroupDealListOut)
def list_group_deals(operator: CurrentOperator, session: ReadSession) -> GroupDealListOut:
    """The shop's group deals with their groups forming, succeeded and failed."""
    return service.list_deals(session, operator.shop_id)


@admin_router.get("/{deal_id}", response_model=GroupDealOut, responses=openapi_errors("not_found"))
def get_group_deal(deal_id: str, operator: CurrentOperator, session: ReadSession) -> GroupDealOut:
    """One group deal: units left, groups forming, succeeded and failed, conversion."""
    return service.admin_deal(session, operator.shop_id, deal_id)


@admin_router.post(
    "/{deal_id}/status", response_model=GroupDealOut, responses=openapi_errors("not_found")
)
def set_group_deal_status(
    deal_id: str, body: GroupDealStatusIn, operator: CurrentOperator, once: Once
) -> JSONResponse:
    """Pause (no new groups; forming groups may still fill) or resume a group deal."""
    return once(
        operator.scope,
        lambda: service.set_deal_status(once.session, operator.shop_id, deal_id, body.action),
        body=body,
    )


@router.get(
    "/group-deals/{deal_id}",
    response_model=GroupDealPublicOut,
    responses=openapi_errors("not_found"),
)
def get_public_group_deal(
    deal_id: str, shopper: CurrentShopper, session: ReadSession
) -> GroupDealPublicOut:
    """A group deal as shoppers see it: the group price, the size, and the open groups to join."""
    return service.public_deal(session, deal_id, shopper.shopper_id)


@router.post(
    "/group-deals/{deal_id}/groups",
    responses=openapi_errors(
        "not_found",
        "group_deal_not_active",
        "channel_not_allowed",
        "group_deal_sold_out",
        "already_in_group",
        "group_limit_reached",
    ),
    response_model=GroupOut,
    status_code=201,
)
def start_group(
    deal_id: str,
    shopper: StartingShopper,
    once: Once,
    device_hash: DeviceHash = None,
    channel: Channel = None,
) -> JSONResponse:
    """Start a group of the deal as its first member; its units are held while it forms."""
    via = Arrival(channel=channel or None)
    return once(
        shopper.scope,
        lambda: starting.start_group(
            once.session, deal_id, shopper.shopper_id, device_hash=device_hash, via=via
        ),
        status_code=201,
    )


@router.post(
    "/groups/{group_id}/join",
    responses=openapi_errors(
        "not_found",
        "channel_not_allowed",
        "group_full",
        "group_expired",
        "already_in_group",
        "group_limit_reached",
        "group_self_join",
    ),
    response_model=GroupOut,
)
async def join_group(
    group_id: str,
    request: Request,
    shopper: JoiningShopper,
    idempotency_key: IdempotencyKey = None,
    device_hash: DeviceHash = None,
    share_code: ShareCode = None,
    channel: Channel = None,
) -> Response:
    """Join a forming group; the join that completes it gives every member the group price.
    Without an Idempotency-Key the join goes into the next batch (the group-join batcher: many
    joins, one commit); with one, it runs alone so that a retry replays it."""
    join = joining.JoinRequest(
        group_id, shopper.shopper_id, device_hash, share_code or None, channel or None
    )
    return await batched_or_alone(
        request,
        scope=shopper.scope,
        key=idempotency_key,
        batcher=request.app.state.group_join_batcher,
        item=join,
        order_key=group_id,
        alone=lambda session: joining.join_alone(session, join),
    )


@router.get("/groups/{group_id}", response_model=GroupOut, responses=openapi_errors("not_found"))
def get_group(group_id: str, shopper: CurrentShopper, session: ReadSession) -> GroupOut:
    """A group: status (forming, succeeded, failed), members, how many are needed, time left."""
    return views.group_view(session, group_id, shopper.shopper_id)


@router.get("/groups", response_model=MyGroupsOut)
def list_my_groups(shopper: CurrentShopper, session: ReadSession) -> MyGroupsOut:
    """The groups I started or joined, newest first."""
    return views.my_groups(session, shopper.shopper_id)
