"""POST /webhooks/kinsave: kinsave's signed events, verified before anything is believed.

Answers JSON with a stable code: 200 `recorded` or `duplicate` (kinsave delivered an event it
had already delivered; acknowledged so it stops retrying), 401 `bad_signature`, 400
`stale_timestamp` or `invalid_payload`, 409 `replayed`, 503 `webhooks_off` when the store has no
signing secret. The event's id and name are read from the signed body, never from the unsigned
headers.
"""

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from kinsave.client import WebhookEvent
from kinsave_demo_store.pages import Parts
from kinsave_demo_store.webhook_inbox import ReceivedEvent, Replayed
from kinsave_demo_store.webhook_signature import (
    SIGNATURE_HEADER,
    SignatureRefused,
    verify_signature,
)

router = APIRouter(prefix="/webhooks")
STATUS = {"bad_signature": 401, "stale_timestamp": 400, "invalid_payload": 400, "replayed": 409}


def refusal(code: str, message: str) -> JSONResponse:
    status = STATUS.get(code, 503)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def event_from_body(body: bytes, delivery_id: str) -> ReceivedEvent | None:
    """The signed body as an event, or None when it is not kinsave's shape."""
    try:
        payload = WebhookEvent.model_validate_json(body)
    except ValidationError:
        return None
    data = payload.data
    return ReceivedEvent(
        event_id=payload.id,
        delivery_id=delivery_id[:40],
        event=payload.event,
        order_id=str(data["order_id"]) if "order_id" in data else None,
        shopper_id=str(data["shopper_id"]) if "shopper_id" in data else None,
        received_at=datetime.now(UTC),
    )


@router.post("/kinsave")
async def receive_kinsave_event(request: Request, parts: Parts) -> JSONResponse:
    if not parts.webhook_secret:
        return refusal("webhooks_off", "this store has no webhook signing secret")
    body = await request.body()  # the raw bytes: re-serialised JSON would not match the HMAC
    now = time.time()
    try:
        signed = verify_signature(
            parts.webhook_secret, request.headers.get(SIGNATURE_HEADER, ""), body, now
        )
    except SignatureRefused as refused:
        return refusal(refused.code, "the Kinsave-Signature header does not verify")
    event = event_from_body(body, request.headers.get("Kinsave-Delivery-Id", ""))
    if event is None:
        return refusal("invalid_payload", "the body is not a kinsave event")
    try:
        outcome = parts.inbox.accept(signed, event, now)
    except Replayed:
        return refusal("replayed", "this signed request was received before")
    return JSONResponse({"status": outcome, "event_id": event.event_id})
