"""Background jobs. Each job owns its transactions: one unit of work per item it processes."""

import logging
import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kinsave.config import Settings
from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import ExpiryReport
from kinsave.social import help_requests
from kinsave.social.schemas import HelpExpiryReport
from kinsave.webhooks import delivery as webhook_delivery
from kinsave.webhooks.schemas import DeliveryReport

log = logging.getLogger("kinsave.jobs")


def expire_envelopes(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> ExpiryReport:
    """Refund every envelope past its expiry, each in its own short transaction.

    Safe to run from several processes at once: each refund happens exactly once.
    """
    now = now or utcnow()
    expired = refunded = 0
    while True:
        with unit_of_work(session_factory) as session:
            due = envelopes.due_for_expiry(session, now)
        if not due:
            break
        for envelope_id in due:
            with unit_of_work(session_factory) as session:
                amount = envelopes.expire_envelope(session, envelope_id, now)
            if amount is not None:
                expired += 1
                refunded += amount
        if len(due) < 200:
            break
    return ExpiryReport(expired=expired, refunded_amount=refunded)


def expire_help_requests(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> HelpExpiryReport:
    """Refund the escrow of every unfinished help request past its deadline to its budget.

    Each request in its own short transaction; safe to run from several processes at once (the
    conditional state change lets exactly one of them refund).
    """
    now = now or utcnow()
    expired = refunded = 0
    while True:
        with unit_of_work(session_factory) as session:
            due = help_requests.due_for_expiry(session, now)
        for request_id in due:
            with unit_of_work(session_factory) as session:
                amount = help_requests.expire_request(session, request_id, now)
            if amount is not None:
                expired += 1
                refunded += amount
        if len(due) < 200:
            return HelpExpiryReport(expired=expired, refunded_amount=refunded)


def deliver_webhooks(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> DeliveryReport:
    """Send due webhook deliveries (network calls happen outside any transaction)."""
    return webhook_delivery.deliver_due(session_factory, settings, now)


class Sweeper:
    """Runs the periodic jobs inside `kinsave serve` on a daemon thread."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        interval: float,
        settings: Settings | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._interval = interval
        self._settings = settings or Settings()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kinsave-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._pass()

    def _pass(self) -> None:
        # Each job is guarded on its own: one failing job must not stop the others for good.
        try:
            report = expire_envelopes(self._session_factory)
            if report.expired:
                log.info(
                    "expired %d envelopes, refunded %d", report.expired, report.refunded_amount
                )
        except Exception:
            log.exception("envelope expiry failed")
        try:
            helps = expire_help_requests(self._session_factory)
            if helps.expired:
                log.info(
                    "expired %d help requests, refunded %d", helps.expired, helps.refunded_amount
                )
        except Exception:
            log.exception("help request expiry failed")
        try:
            sent = deliver_webhooks(self._session_factory, self._settings)
            if sent.sent:
                log.info("webhooks: %s", sent.model_dump())
        except Exception:
            log.exception("webhook delivery failed")
