"""Webhook delivery totals for monitoring (/metrics): read-only."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.webhooks.models import WebhookDelivery


def deliveries_by_status(session: Session) -> dict[str, int]:
    """status (pending | delivered | failed | cancelled) -> how many deliveries."""
    rows = session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    )
    return {status: int(count) for status, count in rows}


def due_backlog(session: Session, now: datetime) -> int:
    """Pending deliveries whose next attempt is due: what the delivery job has yet to send."""
    query = select(func.count()).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
    )
    return int(session.execute(query).scalar_one())
