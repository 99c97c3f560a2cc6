import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

EVENT_PATTERN = r"^(\*|[a-z][a-z0-9_.]{0,63})$"


class WebhookEndpointIn(BaseModel):
    url: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    events: list[str] = Field(default=["*"], min_length=1, max_length=50)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the URL must start with https:// (or http://)")
        return value

    @field_validator("events")
    @classmethod
    def _event_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(EVENT_PATTERN, name):
                raise ValueError(f"bad event name {name!r}")
        return sorted(set(value))


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(description="Signs every delivery. Shown only now: store it.")


class WebhookEndpointListOut(BaseModel):
    endpoints: list[WebhookEndpointOut]


class WebhookDeliveryOut(BaseModel):
    id: int
    endpoint_id: str
    event_id: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    resent_from: int | None
    created_at: datetime
    delivered_at: datetime | None
    body: dict[str, Any] = Field(description="The JSON body sent (id, event, created_at, data)")


class WebhookDeliveryListOut(BaseModel):
    deliveries: list[WebhookDeliveryOut]
    next_before: int | None


class DeliveryReport(BaseModel):
    sent: int
    delivered: int
    retrying: int
    failed: int
