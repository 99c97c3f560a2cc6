"""Webhook endpoints, the transactional outbox, and the delivery log.

`enqueue` only inserts rows in the caller's transaction: a rollback leaves no trace and a commit
makes every delivery durable before anything is sent. The sender (webhooks/delivery.py) claims due
rows in one short transaction (SKIP LOCKED on PostgreSQL; SQLite's writer lock serialises claims),
pushing their next attempt past a lease so that no other sender takes the same attempt, then sends
with no transaction open, then records the outcome guarded by the attempt number it claimed.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.webhooks import destination
from kinsave.webhooks.models import WebhookDelivery, WebhookEndpoint
from kinsave.webhooks.schemas import (
    WebhookDeliveryListOut,
    WebhookDeliveryOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointListOut,
    WebhookEndpointOut,
)


@dataclass(frozen=True)
class Claim:
    """One claimed attempt: everything the sender needs, read before the claim commits."""

    delivery_id: int
    attempt: int
    url: str
    secret: str
    event: str
    event_id: str
    body: str


def check_destination(url: str, *, allow_private_urls: bool) -> None:
    """Raise webhook_url_invalid for anything but a plain http(s) URL, and webhook_url_not_public
    when it leads to a non-public address, asking DNS.

    I/O: entry points call it before their transaction's first statement, so no database
    connection or lock waits on DNS. A name that does not resolve (yet) passes: every delivery
    resolves it and checks it again.
    """
    target = destination.check_url(url, allow_private_urls=allow_private_urls)
    if allow_private_urls:
        return
    host = target.raw_host.decode("ascii")
    try:
        addresses = destination.resolve(host, destination.default_port(target))
    except OSError:
        return
    reason = destination.first_refused(host, addresses)
    if reason is not None:
        raise KinsaveError("webhook_url_not_public", f"webhook URL refused: {reason}")


def create_endpoint(
    session: Session, shop_id: str, data: WebhookEndpointIn, *, allow_private_urls: bool = False
) -> WebhookEndpointCreatedOut:
    """Register an endpoint for this shop; its signing secret is returned this once.

    Callers check the URL's resolved addresses first (check_destination); this refuses, without
    I/O, the URLs that name a non-public address outright, whoever the caller.
    Errors: webhook_url_invalid, webhook_url_not_public (unless allow_private_urls).
    """
    destination.check_url(data.url, allow_private_urls=allow_private_urls)
    endpoint = WebhookEndpoint(
        id="whe_" + secrets.token_hex(8),
        shop_id=shop_id,
        url=data.url,
        events=data.events,
        secret="whsec_" + secrets.token_urlsafe(32),
        active=True,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    _forget_endpoints(session, shop_id)
    return WebhookEndpointCreatedOut(**_endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


def list_endpoints(session: Session, shop_id: str) -> WebhookEndpointListOut:
    rows = session.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.shop_id == shop_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    ).scalars()
    return WebhookEndpointListOut(endpoints=[_endpoint_out(e) for e in rows])


def delete_endpoint(session: Session, shop_id: str, endpoint_id: str) -> None:
    """Stop sending to an endpoint; its undelivered rows are cancelled. Errors: not_found."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.shop_id != shop_id or not endpoint.active:
        raise KinsaveError("not_found", "no such webhook endpoint")
    endpoint.active = False
    endpoint.deleted_at = utcnow()
    _forget_endpoints(session, shop_id)
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )


def enqueue(session: Session, shop_id: str, event: str, payload: dict[str, Any]) -> None:
    """Write one delivery per endpoint of this shop subscribed to `event`, in the caller's
    transaction. Nothing is sent before that transaction commits; nothing is lost after."""
    endpoints = _endpoints(session, shop_id)
    targets = [eid for eid, events in endpoints if "*" in events or event in events]
    if not targets:
        return
    now = utcnow()
    event_id = "evt_" + secrets.token_hex(10)
    body = json.dumps(
        {"id": event_id, "event": event, "created_at": now.isoformat(), "data": payload},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    session.execute(
        insert(WebhookDelivery),
        [_pending_row(endpoint_id, shop_id, event_id, event, body, now) for endpoint_id in targets],
    )


# session.info's key: a shop's active endpoints as this unit of work first read them. A batch of
# checkout writes (coupons/store_writes.py) enqueues for one or two shops dozens of times: one
# read per shop, not one per write. Creating or deleting an endpoint forgets them.
_ENDPOINTS = "webhook_endpoints"


def _endpoints(session: Session, shop_id: str) -> list[Any]:
    known: dict[str, list[Any]] = session.info.setdefault(_ENDPOINTS, {})
    if shop_id not in known:
        known[shop_id] = list(
            session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                    WebhookEndpoint.shop_id == shop_id, WebhookEndpoint.active.is_(True)
                )
            ).all()
        )
    return known[shop_id]


def _forget_endpoints(session: Session, shop_id: str) -> None:
    session.info.get(_ENDPOINTS, {}).pop(shop_id, None)


def _pending_row(
    endpoint_id: str, shop_id: str, event_id: str, event: str, body: str, now: datetime
) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint_id,
        "shop_id": shop_id,
        "event_id": event_id,
        "event": event,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def list_deliveries(
    session: Session,
    shop_id: str,
    *,
    status: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> WebhookDeliveryListOut:
    """This shop's delivery log, newest first, paginated by id."""
    statement = select(WebhookDelivery).where(WebhookDelivery.shop_id == shop_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    if before is not None:
        statement = statement.where(WebhookDelivery.id < before)
    rows = session.execute(statement.order_by(WebhookDelivery.id.desc()).limit(limit + 1))
    page = list(rows.scalars())
    return WebhookDeliveryListOut(
        deliveries=[_delivery_out(d) for d in page[:limit]],
        next_before=page[limit - 1].id if len(page) > limit else None,
    )


def resend(session: Session, shop_id: str, delivery_id: int) -> WebhookDeliveryOut:
    """Queue the same event (same body and event id) to the same endpoint again, as a new
    delivery that names the one it repeats. Errors: not_found (also for a deleted endpoint)."""
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.shop_id != shop_id:
        raise KinsaveError("not_found", "no such webhook delivery")
    endpoint = session.get(WebhookEndpoint, original.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise KinsaveError("not_found", "that delivery's endpoint was deleted")
    now = utcnow()
    row = _pending_row(
        original.endpoint_id, shop_id, original.event_id, original.event, original.body, now
    )
    copy = WebhookDelivery(**row, resent_from=original.id)
    session.add(copy)
    session.flush()
    return _delivery_out(copy)


def claim_due(session: Session, now: datetime, *, lease: timedelta, limit: int) -> list[Claim]:
    """Take up to `limit` due attempts for this sender; others skip them until the lease ends."""
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.execute(due).scalars())
    if not ids:
        return []
    claimed = _take(session, ids, now + lease, now)
    rows = session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.event,
            WebhookDelivery.event_id,
            WebhookDelivery.body,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(list(claimed)))
        .order_by(WebhookDelivery.id)
    )
    return [
        Claim(
            delivery_id=row.id,
            attempt=claimed[row.id],
            url=row.url,
            secret=row.secret,
            event=row.event,
            event_id=row.event_id,
            body=row.body,
        )
        for row in rows
    ]


def _take(session: Session, ids: list[int], lease_until: datetime, now: datetime) -> dict[int, int]:
    """Count the attempt and hide the rows until the lease ends; returns id -> attempt number."""
    rows = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=lease_until,
            last_attempt_at=now,
        )
        .returning(WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    )
    return {delivery_id: attempt for delivery_id, attempt in rows}


def record_attempt(
    session: Session,
    claim: Claim,
    *,
    now: datetime,
    status_code: int | None,
    error: str | None,
    max_attempts: int,
    retry_base_seconds: float,
) -> str:
    """Store one attempt's outcome; returns delivered, retrying, failed or stale.

    A 2xx answer delivers. Otherwise the next attempt waits base * 2^(attempt-1) seconds, until
    `max_attempts` is reached and the delivery fails (an operator can still resend it). An
    outcome for an attempt that is no longer current (its lease expired and another sender
    re-claimed it) is ignored: "stale".
    """
    current = (
        (WebhookDelivery.id == claim.delivery_id)
        & (WebhookDelivery.attempts == claim.attempt)
        & (WebhookDelivery.status == "pending")
    )
    values: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
    if status_code is not None and 200 <= status_code < 300:
        outcome, values["status"], values["delivered_at"] = "delivered", "delivered", now
    elif claim.attempt >= max_attempts:
        outcome, values["status"] = "failed", "failed"
    else:
        outcome = "retrying"
        delay = retry_base_seconds * 2 ** (claim.attempt - 1)
        values["next_attempt_at"] = now + timedelta(seconds=delay)
    result = session.execute(
        update(WebhookDelivery)
        .where(current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return outcome if result.rowcount else "stale"  # type: ignore[attr-defined]


def _endpoint_out(endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        active=endpoint.active,
        created_at=endpoint.created_at,
    )


def _delivery_out(d: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event=d.event,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        resent_from=d.resent_from,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
        body=json.loads(d.body),
    )
