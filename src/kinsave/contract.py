"""The OpenAPI document says what the server really does (issue 16).

- operationIds are the endpoint functions' names (`operation_name`, given to FastAPI as its
  `generate_unique_id_function`); summaries are the docstrings' first lines;
- the refusals every operation shares are added to its `responses=` from what it depends on
  (`document_routes`): 401/403 for a credential, 404 for a path id, 409 for an Idempotency-Key
  or a write, 413 for a body, 422 for any input (kinsave's error body, never FastAPI's default
  `HTTPValidationError`, which the server never sends), 429 for a rate limit, 503 when the
  database is down; each with the one error body and the codes it can carry;
- the webhooks kinsave sends are in the document (`app.webhooks`); the main operations carry
  examples (contract_examples.py).
"""

import re
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.models import Schema
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from kinsave.config import Settings
from kinsave.contract_examples import add_examples
from kinsave.coupons.checkout_schemas import QuoteIn, RefundOut
from kinsave.errors import ERROR_BODY_SCHEMA, ERROR_STATUS, openapi_errors
from kinsave.money import fen_field

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
RATE_LIMITERS = ("rate_limit", "guard_share_codes", "RateLimitedShopper")
CODES_IN_DESCRIPTION = re.compile(r"`([a-z0-9_]+)`")
ERROR_REF = "#/components/schemas/Error"
# Bodies a route reads itself (api.json_body, api.body_documented): FastAPI does not see them.
SELF_PARSED_BODIES = (QuoteIn,)


def operation_name(route: APIRoute) -> str:
    """The operationId: the endpoint's own name (`checkout_quote`), unique across the API."""
    return route.name


def install_contract(app: FastAPI) -> None:
    """Serve the document with the shared refusals, summaries and webhooks (built once)."""
    _install_webhooks(app)
    rate_limited = _rate_limited_operations(app.router.routes)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for path, operations in document["paths"].items():
                for method, operation in operations.items():
                    limited = (method.upper(), path) in rate_limited
                    document_operation(operation, path, method.upper(), rate_limited=limited)
                    add_examples(operation)
            _drop_fastapi_validation_schemas(document)
            _add_self_parsed_bodies(document)
            _state_configured_limits(document, app.state.settings)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_operation(
    operation: dict[str, Any], path: str, method: str, *, rate_limited: bool
) -> None:
    """One operation: its summary, and its refusals merged with the ones it shares."""
    description = operation.get("description", "")
    if description:  # the docstring's first sentence
        paragraph = " ".join(description.strip().split("\n\n")[0].split())
        operation["summary"] = paragraph.split(". ")[0].rstrip(".")
    codes = set(shared_refusals(operation, path, method, rate_limited=rate_limited))
    responses: dict[str, Any] = operation["responses"]
    for status, documented in list(responses.items()):
        if not status.startswith(("4", "5")):
            continue
        text = str(documented.get("description", ""))
        if text.startswith("Refused:") or status == "422":
            codes.update(CODES_IN_DESCRIPTION.findall(text))
            del responses[status]
    for code, refusal in openapi_errors(*sorted(c for c in codes if c in ERROR_STATUS)).items():
        if str(code) not in responses:  # a route's own 503 (/readyz) stays
            refusal["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
            responses[str(code)] = refusal


def shared_refusals(
    operation: dict[str, Any], path: str, method: str, *, rate_limited: bool
) -> list[str]:
    """The error codes an operation can return because of what it takes (not its domain's)."""
    parameters = operation.get("parameters", [])
    signed = bool(operation.get("security"))
    codes = [] if path in {"/healthz", "/readyz"} else ["service_unavailable"]
    if signed:
        codes += ["unauthorized", "forbidden"]
    if any(p["in"] == "path" for p in parameters):
        codes.append("not_found")
    if any(p["in"] == "header" and p["name"].lower() == "idempotency-key" for p in parameters):
        codes += ["idempotency_key_reused", "idempotency_in_progress"]
    if method in WRITE_METHODS and path.startswith("/v1/"):
        codes.append("conflict")  # a concurrent duplicate lost the race (IntegrityError)
    if "requestBody" in operation:
        codes += ["payload_too_large", "invalid_request", "invalid_amount"]
    if parameters or signed:
        codes.append("invalid_request")
    if rate_limited:
        codes.append("rate_limited")
    return codes


def _rate_limited_operations(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of the routes that depend on a rate limit (security/deps.py)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's lazily included router
            found |= _rate_limited_operations(route.original_router.routes)
        elif isinstance(route, APIRoute):
            calls = [d.call for d in _all_dependants(route.dependant)]
            names = [getattr(c, "__qualname__", type(c).__qualname__) for c in calls]
            if any(name.startswith(RATE_LIMITERS) for name in names):
                found |= {(method, route.path) for method in route.methods or ()}
    return found


def _all_dependants(dependant: Any) -> list[Any]:
    found = [dependant]
    for sub in dependant.dependencies:
        found += _all_dependants(sub)
    return found


def _state_configured_limits(document: dict[str, Any], settings: Settings) -> None:
    """The envelope limits are settings: the document states the configured ones."""
    envelope = document["components"]["schemas"].get("EnvelopeIn")
    if envelope is not None:
        envelope["properties"]["shares"]["maximum"] = settings.envelope_max_shares
        envelope["properties"]["total"]["maximum"] = settings.envelope_max_total


def _drop_fastapi_validation_schemas(document: dict[str, Any]) -> None:
    """FastAPI's default 422 body is never sent: kinsave's `Error` is the one error body."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {**ERROR_BODY_SCHEMA, "title": "Error"}
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _add_self_parsed_bodies(document: dict[str, Any]) -> None:
    """Their schemas as FastAPI writes a body's: pydantic's, in validation mode with refs to the
    components, then through FastAPI's own OpenAPI Schema model (numbers as it types them, no
    null defaults)."""
    schemas = document["components"]["schemas"]
    for model in SELF_PARSED_BODIES:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found = {**schema.pop("$defs", {}), model.__name__: schema}
        for name, each in found.items():
            schemas.setdefault(name, _as_fastapi_writes(each))


def _as_fastapi_writes(schema: dict[str, Any]) -> dict[str, Any]:
    written: dict[str, Any] = Schema.model_validate(schema).model_dump(
        by_alias=True, exclude_none=True
    )
    return written


class OrderPaidData(BaseModel):
    order_id: str
    shopper_id: str
    total_to_pay: int = fen_field(description="What the shopper paid")
    discount: int = fen_field(description="Coupon discount")
    credit: int = fen_field(description="Wallet credit used")
    coupons: list[str]


class GroupMemberEntitlement(BaseModel):
    shopper_id: str
    coupon_id: str = Field(description="The member's set_price coupon, quoted at checkout")


class GroupSucceededData(BaseModel):
    group_id: str
    deal_id: str
    sku: str
    group_price: int = fen_field(description="What each member pays for one unit")
    succeeded_at: datetime
    members: list[GroupMemberEntitlement]


class GroupFailedData(BaseModel):
    group_id: str
    deal_id: str
    failed_at: datetime
    units_returned: int
    members: list[str]


class WebhookEvent(BaseModel):
    id: str = Field(description="The event's id (`evt_...`), also in the Kinsave-Event-Id header")
    event: str
    created_at: datetime


class OrderPaidEvent(WebhookEvent):
    data: OrderPaidData


class OrderRefundedEvent(WebhookEvent):
    data: RefundOut


class GroupSucceededEvent(WebhookEvent):
    data: GroupSucceededData


class GroupFailedEvent(WebhookEvent):
    data: GroupFailedData


SIGNED = (
    "Signed with the endpoint's secret in the `Kinsave-Signature` header "
    "(`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>`); retried with backoff "
    "until the endpoint answers 2xx."
)


def _install_webhooks(app: FastAPI) -> None:
    @app.webhooks.post("order.paid", operation_id="order_paid", status_code=200)
    def order_paid(body: OrderPaidEvent) -> None:
        """An order was paid (POST /v1/store/orders/{order_id}/paid)."""

    @app.webhooks.post("order.refunded", operation_id="order_refunded", status_code=200)
    def order_refunded(body: OrderRefundedEvent) -> None:
        """An order was refunded, in part or whole (POST /v1/store/orders/{order_id}/refund)."""

    @app.webhooks.post("group.succeeded", operation_id="group_succeeded", status_code=200)
    def group_succeeded(body: GroupSucceededEvent) -> None:
        """A group filled inside its window: each member holds a set_price coupon for the SKU."""

    @app.webhooks.post("group.failed", operation_id="group_failed", status_code=200)
    def group_failed(body: GroupFailedEvent) -> None:
        """A group's window ended before it filled: nobody gets the group price or pays it."""

    for route in app.webhooks.routes:
        if isinstance(route, APIRoute):
            route.description = f"{route.description}\n\n{SIGNED}"
            route.summary = route.description.splitlines()[0]
            route.responses = {
                200: {"description": "Received: any 2xx acknowledges"},
                "default": {"description": "Not received: the delivery is retried"},
            }
