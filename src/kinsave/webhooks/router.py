from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from kinsave.api import DbSession, ReadSession
from kinsave.auth.deps import CurrentOperator
from kinsave.webhooks import service
from kinsave.webhooks.schemas import (
    WebhookDeliveryListOut,
    WebhookDeliveryOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointListOut,
)

router = APIRouter(prefix="/v1/admin/webhooks", tags=["admin: webhooks"])


@router.post("", response_model=WebhookEndpointCreatedOut, status_code=201)
def create_endpoint(
    body: WebhookEndpointIn, operator: CurrentOperator, session: DbSession, request: Request
) -> WebhookEndpointCreatedOut:
    """Register an endpoint. The response carries its signing secret: it is shown only once.

    The URL must be a plain http(s) URL (422 webhook_url_invalid otherwise) leading to a public
    address (422 webhook_url_not_public otherwise)."""
    allow_private = request.app.state.settings.webhook_allow_private_urls
    # Before the session's first statement: no connection is held while DNS answers.
    service.check_destination(body.url, allow_private_urls=allow_private)
    return service.create_endpoint(
        session, operator.shop_id, body, allow_private_urls=allow_private
    )


@router.get("", response_model=WebhookEndpointListOut)
def list_endpoints(operator: CurrentOperator, session: ReadSession) -> WebhookEndpointListOut:
    return service.list_endpoints(session, operator.shop_id)


@router.get("/deliveries", response_model=WebhookDeliveryListOut)
def list_deliveries(
    operator: CurrentOperator,
    session: ReadSession,
    status: Literal["pending", "delivered", "failed", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> WebhookDeliveryListOut:
    """The delivery log, newest first: attempts, last status code and error per delivery."""
    return service.list_deliveries(
        session, operator.shop_id, status=status, limit=limit, before=before
    )


@router.post("/deliveries/{delivery_id}/resend", response_model=WebhookDeliveryOut, status_code=201)
def resend_delivery(
    delivery_id: int, operator: CurrentOperator, session: DbSession
) -> WebhookDeliveryOut:
    """Send a delivery's event again (same body and event id), as a new delivery."""
    return service.resend(session, operator.shop_id, delivery_id)


@router.delete("/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, operator: CurrentOperator, session: DbSession) -> Response:
    service.delete_endpoint(session, operator.shop_id, endpoint_id)
    return Response(status_code=204)
