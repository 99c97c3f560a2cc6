from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from kinsave.api import DbSession, Once, ReadSession
from kinsave.auth.deps import CurrentOperator
from kinsave.campaigns import service
from kinsave.campaigns.schemas import (
    AmountIn,
    BudgetBurnOut,
    CampaignIn,
    CampaignListOut,
    CampaignOut,
    CampaignStatusIn,
    CreditGrantIn,
    CreditGrantOut,
)
from kinsave.errors import openapi_errors

router = APIRouter(prefix="/v1/admin/campaigns", tags=["admin: campaigns"])


@router.post(
    "", responses=openapi_errors("invalid_amount"), response_model=CampaignOut, status_code=201
)
def create_campaign(
    body: CampaignIn,
    operator: CurrentOperator,
    once: Once,
) -> JSONResponse:
    return once(
        operator.scope,
        lambda: service.create_campaign(once.session, operator.shop_id, body),
        body=body,
        status_code=201,
    )


@router.get("", response_model=CampaignListOut)
def list_campaigns(
    operator: CurrentOperator,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CampaignListOut:
    return service.list_campaigns(session, operator.shop_id, limit=limit, offset=offset)


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: str, operator: CurrentOperator, session: ReadSession) -> CampaignOut:
    return service.get_campaign(session, operator.shop_id, campaign_id)


@router.get("/{campaign_id}/burn", response_model=BudgetBurnOut)
def budget_burn(campaign_id: str, operator: CurrentOperator, session: ReadSession) -> BudgetBurnOut:
    """The budget burn per local day, for the console's chart and CSV export."""
    return service.budget_burn(session, operator.shop_id, campaign_id)


@router.post("/{campaign_id}/status", response_model=CampaignOut)
def set_campaign_status(
    campaign_id: str, body: CampaignStatusIn, operator: CurrentOperator, session: DbSession
) -> CampaignOut:
    return service.set_status(session, operator.shop_id, campaign_id, body.status)


@router.post(
    "/{campaign_id}/budget",
    responses=openapi_errors("not_found", "invalid_amount"),
    response_model=CampaignOut,
)
def add_budget(
    campaign_id: str,
    body: AmountIn,
    operator: CurrentOperator,
    once: Once,
) -> JSONResponse:
    return once(
        operator.scope,
        lambda: service.add_budget(once.session, operator.shop_id, campaign_id, body.amount),
        body=body,
    )


@router.post(
    "/{campaign_id}/credits",
    responses=openapi_errors(
        "not_found", "invalid_amount", "budget_exhausted", "campaign_not_active"
    ),
    response_model=CreditGrantOut,
    status_code=201,
)
def grant_credit(
    campaign_id: str,
    body: CreditGrantIn,
    operator: CurrentOperator,
    once: Once,
) -> JSONResponse:
    """Gift wallet credit from the budget. Send an Idempotency-Key: it also names the grant."""
    return once(
        operator.scope,
        lambda: service.grant_credit(
            once.session, operator.shop_id, campaign_id, body.shopper_id, body.amount, once.key
        ),
        body=body,
        status_code=201,
    )
