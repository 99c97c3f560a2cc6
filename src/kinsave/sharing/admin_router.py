"""HTTP for operators: channels and their policies, a campaign's sharing setup, lint, funnel."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from kinsave.api import DbSession, ReadSession
from kinsave.auth.deps import CurrentOperator
from kinsave.db import utcnow
from kinsave.sharing import campaign_setup, channels, funnel, service
from kinsave.sharing.schemas import (
    CampaignLintOut,
    CampaignSharingIn,
    CampaignSharingOut,
    ChannelIn,
    ChannelListOut,
    ChannelOut,
    FunnelOut,
    PolicyIn,
    PolicyOut,
    PolicyUpdateOut,
)

router = APIRouter(prefix="/v1/admin", tags=["admin: sharing"])


@router.get("/channels", response_model=ChannelListOut)
def list_channels(operator: CurrentOperator, session: ReadSession) -> ChannelListOut:
    return channels.list_channels(session, operator.shop_id)


@router.post("/channels", response_model=ChannelOut, status_code=201)
def add_channel(body: ChannelIn, operator: CurrentOperator, session: DbSession) -> ChannelOut:
    return channels.add_channel(session, operator.shop_id, body.name)


@router.get("/channels/{channel}/policy", response_model=PolicyOut)
def get_policy(channel: str, operator: CurrentOperator, session: ReadSession) -> PolicyOut:
    """The policy in force and every earlier version, newest first."""
    return channels.policy_history(session, operator.shop_id, channel)


@router.put("/channels/{channel}/policy", response_model=PolicyUpdateOut)
def put_policy(
    channel: str, body: PolicyIn, operator: CurrentOperator, session: DbSession
) -> PolicyUpdateOut:
    """Store a new policy version; answers with every campaign re-linted against it."""
    return campaign_setup.update_policy_and_relint(session, operator.shop_id, channel, body)


@router.get("/campaigns/{campaign_id}/sharing", response_model=CampaignSharingOut)
def get_sharing(
    campaign_id: str, operator: CurrentOperator, session: ReadSession
) -> CampaignSharingOut:
    return campaign_setup.get_setup(session, operator.shop_id, campaign_id)


@router.put("/campaigns/{campaign_id}/sharing", response_model=CampaignSharingOut)
def put_sharing(
    campaign_id: str, body: CampaignSharingIn, operator: CurrentOperator, session: DbSession
) -> CampaignSharingOut:
    """Set the attribution window and model, the referral reward and the sharing wording."""
    return campaign_setup.put_setup(session, operator.shop_id, campaign_id, body)


@router.get("/campaigns/{campaign_id}/lint", response_model=CampaignLintOut)
def lint_campaign(
    campaign_id: str, operator: CurrentOperator, session: ReadSession
) -> CampaignLintOut:
    return campaign_setup.lint(session, operator.shop_id, campaign_id)


@router.get(
    "/campaigns/{campaign_id}/funnel",
    response_model=FunnelOut,
    # ?format=csv answers the same rows as CSV: documented so clients (and schemathesis) know.
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def campaign_funnel(
    campaign_id: str,
    operator: CurrentOperator,
    session: ReadSession,
    by: Annotated[str, Query(pattern=r"^(channel|day|channel,day|day,channel)$")] = "channel",
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Shares, opens, resolves, claims, store visits, orders, sales and costs; bots excluded."""
    report = funnel.funnel(session, operator.shop_id, campaign_id, by.split(","))
    if format == "csv":
        return Response(
            funnel.funnel_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="funnel-{campaign_id}.csv"'},
        )
    return Response(report.model_dump_json(), media_type="application/json")


@router.post("/shares/{code}/revoke", status_code=204, name="admin_revoke_share")
def revoke_share(code: str, operator: CurrentOperator, session: DbSession) -> Response:
    service.revoke_share(session, code, shop_id=operator.shop_id, now=utcnow())
    return Response(status_code=204)
