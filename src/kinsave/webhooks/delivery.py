"""The webhook sender: claim due deliveries, send them with no transaction open, record results.

At least once: a delivery is retried until a 2xx answer or its last attempt, and a sender that
dies mid-send leaves the claim to expire so that another sender retries it. Receivers dedupe on
the Kinsave-Event-Id header (the body's `id`).

Each send resolves the URL's host itself, refuses non-public addresses (webhooks/destination.py)
and connects to the very address it checked, keeping the name for the Host header and TLS (SNI
and certificate), so DNS cannot answer differently between the check and the connection.
"""

import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave import __version__
from kinsave.config import Settings
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from kinsave.webhooks import destination, service, signing
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
    # No kept-alive connections: one opened for a checked address and name must not carry a
    # request for another name that resolves to the same address.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, limits=limits
    ) as client:
        while True:
            with unit_of_work(session_factory) as session:
                claims = service.claim_due(session, clock(), lease=lease, limit=batch)
            for claim in claims:
                status_code, error = _send(client, claim, settings.webhook_allow_private_urls)
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


def _send(
    client: httpx.Client, claim: service.Claim, allow_private_urls: bool
) -> tuple[int | None, str | None]:
    """(status code, error): the answer, or why there was none."""
    try:  # stored before the checks were total, a URL may be one they now refuse; the address
        # checks come after resolution, below, on what the sender would connect to
        target = destination.check_url(claim.url, allow_private_urls=True)
    except KinsaveError as error:
        return None, f"refused: {error.message}"[:300]
    host = target.raw_host.decode("ascii")
    try:
        addresses = destination.resolve(host, destination.default_port(target))
    except OSError as error:
        return None, f"DNS: {error}"[:300]
    refusal = None if allow_private_urls else destination.first_refused(host, addresses)
    if refusal is not None:
        return None, f"refused: {refusal}"[:300]
    body = claim.body.encode()
    now = int(time.time())
    headers = {
        "Host": target.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "User-Agent": f"kinsave-webhooks/{__version__}",
        signing.HEADER: signing.sign(claim.secret, now, body),
        "Kinsave-Event": claim.event,
        "Kinsave-Event-Id": claim.event_id,
        "Kinsave-Delivery-Id": str(claim.delivery_id),
        **signing.standard_webhook_headers(claim.secret, claim.event_id, now, body),
    }
    try:
        response = _post_to_checked_address(client, target, addresses, body, headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:300]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def _post_to_checked_address(
    client: httpx.Client,
    target: httpx.URL,
    addresses: list[str],
    body: bytes,
    headers: dict[str, str],
) -> httpx.Response:
    """POST to the first address that accepts a connection (as a resolver-driven connect would:
    `localhost` may be ::1 first while the receiver listens on 127.0.0.1 only)."""
    for address in addresses[:-1]:
        try:
            return _post(client, target.copy_with(host=address), target.host, body, headers)
        except httpx.ConnectError:
            continue
    return _post(client, target.copy_with(host=addresses[-1]), target.host, body, headers)


def _post(
    client: httpx.Client, url: httpx.URL, name: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    # TLS checks the certificate against the name, not the address the URL now holds.
    return client.post(url, content=body, headers=headers, extensions={"sni_hostname": name})
