"""The webhook sender: claim due deliveries, send them with no transaction open, record results.

At least once: a delivery is retried until a 2xx answer or its last attempt, and a sender that
dies mid-send leaves the claim to expire so that another sender retries it. Receivers dedupe on
the Kinsave-Event-Id header (the body's `id`).
"""

import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave import __version__
from kinsave.config import Settings
from kinsave.db import unit_of_work, utcnow
from kinsave.webhooks import service, signing
from kinsave.webhooks.schemas import DeliveryReport

BATCH = 20


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    batch: int = BATCH,
) -> DeliveryReport:
    """Send every delivery that is due now (in batches), each attempt claimed by one sender."""

    def clock() -> datetime:
        return now or utcnow()

    # The lease outlives a whole batch of timed-out sends, so a claim never lapses mid-batch.
    lease = timedelta(seconds=batch * settings.webhook_timeout_seconds + 60)
    report = DeliveryReport(sent=0, delivered=0, retrying=0, failed=0)
    with httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as client:
        while True:
            with unit_of_work(session_factory) as session:
                claims = service.claim_due(session, clock(), lease=lease, limit=batch)
            for claim in claims:
                status_code, error = _send(client, claim)
                with unit_of_work(session_factory) as session:
                    outcome = service.record_attempt(
                        session,
                        claim,
                        now=clock(),
                        status_code=status_code,
                        error=error,
                        max_attempts=settings.webhook_max_attempts,
                        retry_base_seconds=settings.webhook_retry_base_seconds,
                    )
                report.sent += 1
                if outcome in ("delivered", "retrying", "failed"):
                    setattr(report, outcome, getattr(report, outcome) + 1)
            if len(claims) < batch:
                return report


def _send(client: httpx.Client, claim: service.Claim) -> tuple[int | None, str | None]:
    body = claim.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"kinsave-webhooks/{__version__}",
        signing.HEADER: signing.sign(claim.secret, int(time.time()), body),
        "Kinsave-Event": claim.event,
        "Kinsave-Event-Id": claim.event_id,
        "Kinsave-Delivery-Id": str(claim.delivery_id),
    }
    try:
        response = client.post(claim.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
