"""Background jobs. Each job owns its transactions: one unit of work per item it processes."""

import logging
import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kinsave.coupons import orders as checkout_orders
from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import ExpiryReport

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


def release_expired_reservations(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> int:
    """Release every checkout reservation past its hold, each in its own short transaction.

    Safe to run from several processes at once: each release happens exactly once. Returns how
    many this call released.
    """
    now = now or utcnow()
    released = 0
    while True:
        with unit_of_work(session_factory) as session:
            due = checkout_orders.due_reservations(session, now)
        for order_pk in due:
            with unit_of_work(session_factory) as session:
                released += checkout_orders.expire_reservation(session, order_pk, now)
        if len(due) < 200:
            return released


class Sweeper:
    """Runs the periodic jobs inside `kinsave serve` on a daemon thread."""

    def __init__(self, session_factory: sessionmaker[Session], interval: float) -> None:
        self._session_factory = session_factory
        self._interval = interval
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
            try:
                report = expire_envelopes(self._session_factory)
                if report.expired:
                    log.info(
                        "expired %d envelopes, refunded %d", report.expired, report.refunded_amount
                    )
                released = release_expired_reservations(self._session_factory)
                if released:
                    log.info("released %d expired checkout reservations", released)
            except Exception:  # keep sweeping: one bad pass must not stop refunds for good
                log.exception("sweeper pass failed")
