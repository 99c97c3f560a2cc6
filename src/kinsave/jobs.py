"""Background jobs. Each job owns its transactions: one unit of work per item it settles.

Every job is safe to run from several processes at once (the sweeper inside each `kinsave serve`
and `kinsave expire`): the per-item service functions change state with conditional updates, so
exactly one runner settles each item and the others get None.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from kinsave.config import Settings
from kinsave.coupons import orders as checkout_orders
from kinsave.coupons.checkout_schemas import ReservationReleaseReport
from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import expiry as envelope_expiry
from kinsave.envelopes.schemas import ExpiryReport
from kinsave.groups import expiry as group_expiry
from kinsave.groups.schemas import GroupExpiryReport
from kinsave.ops import metrics
from kinsave.security import ratelimit
from kinsave.security.schemas import CounterCleanupReport
from kinsave.sharing import rewards
from kinsave.sharing.schemas import ReleaseReport
from kinsave.social import help_requests, price_cuts
from kinsave.social.schemas import HelpExpiryReport, PriceCutExpiryReport
from kinsave.webhooks import delivery as webhook_delivery
from kinsave.webhooks.schemas import DeliveryReport

log = logging.getLogger("kinsave.jobs")
Item = TypeVar("Item")
BATCH = 200  # the due-item queries return at most this many at a time
COUNTER_BATCH = 1000  # ended rate-limit counters deleted per transaction


def settle_each(
    session_factory: sessionmaker[Session],
    now: datetime | None,
    find_due: Callable[[Session, datetime, int], list[Item]],
    settle: Callable[[Session, Item, datetime], int | None],
) -> tuple[int, int]:
    """Settle every item due at `now` (default: the clock, read once), each in its own short
    transaction; `find_due` answers at most BATCH items a call. Returns (settled, amount):
    how many this runner settled (others' are None) and the sum of what they moved."""
    now = now or utcnow()
    settled = amount = 0
    while True:
        with unit_of_work(session_factory) as session:
            due = find_due(session, now, BATCH)
        for item in due:
            with unit_of_work(session_factory) as session:
                moved = settle(session, item, now)
            if moved is not None:
                settled += 1
                amount += moved
        if len(due) < BATCH:
            return settled, amount


def expire_envelopes(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> ExpiryReport:
    """Return the unclaimed shares of every expired envelope to its funder, exactly once."""
    expired, refunded = settle_each(
        session_factory, now, envelope_expiry.due_for_expiry, envelope_expiry.expire_envelope
    )
    return ExpiryReport(expired=expired, refunded_amount=refunded)


def expire_help_requests(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> HelpExpiryReport:
    """Refund the escrow of every unfinished help request past its deadline, exactly once."""
    expired, refunded = settle_each(
        session_factory, now, help_requests.due_for_expiry, help_requests.expire_request
    )
    return HelpExpiryReport(expired=expired, refunded_amount=refunded)


def fail_expired_groups(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> GroupExpiryReport:
    """Fail every group whose window ended before it filled (units back to stock), once."""
    failed, units = settle_each(
        session_factory, now, group_expiry.due_for_failure, group_expiry.fail_group
    )
    return GroupExpiryReport(failed=failed, units_returned=units)


def expire_price_cuts(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> PriceCutExpiryReport:
    """End every unfinished price cut past its deadline (nothing owed, its unit back), once."""
    expired, _ = settle_each(session_factory, now, price_cuts.due_for_expiry, price_cuts.expire_cut)
    return PriceCutExpiryReport(expired=expired)


def release_referral_rewards(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> ReleaseReport:
    """Pay every referral reward whose hold has ended into the sharer's wallet, exactly once."""
    released, paid = settle_each(session_factory, now, rewards.due_rewards, rewards.release_reward)
    return ReleaseReport(released=released, paid_amount=paid)


def release_expired_reservations(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> ReservationReleaseReport:
    """Give back the coupons and credit of every checkout reservation past its hold, once."""
    released, _ = settle_each(
        session_factory, now, checkout_orders.due_reservations, _expire_reservation
    )
    return ReservationReleaseReport(released=released)


def _expire_reservation(session: Session, order_pk: int, now: datetime) -> int | None:
    # A release moves no amount of its own (the report counts releases): 0 when this runner
    # released it, None when another sweeper or a payment was first.
    return 0 if checkout_orders.expire_reservation(session, order_pk, now) else None


def delete_expired_rate_counters(
    session_factory: sessionmaker[Session], now: datetime | None = None
) -> CounterCleanupReport:
    """Delete the database's rate-limit counters whose window has ended, a batch per transaction
    (short ones: hits upsert these rows in their own transactions meanwhile)."""
    now = now or utcnow()
    deleted = 0
    while True:
        with unit_of_work(session_factory) as session:
            batch = ratelimit.delete_expired_counters(session, now, limit=COUNTER_BATCH)
        deleted += batch
        if batch < COUNTER_BATCH:
            return CounterCleanupReport(deleted=deleted)


def deliver_webhooks(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> DeliveryReport:
    """Send due webhook deliveries (network calls happen outside any transaction)."""
    return webhook_delivery.deliver_due(session_factory, settings, now)


SweepJob = Callable[[sessionmaker[Session], Settings], BaseModel]

SWEEP_JOBS: tuple[tuple[str, SweepJob], ...] = (
    ("envelope expiry", lambda factory, _settings: expire_envelopes(factory)),
    ("help request expiry", lambda factory, _settings: expire_help_requests(factory)),
    ("group expiry", lambda factory, _settings: fail_expired_groups(factory)),
    ("price cut expiry", lambda factory, _settings: expire_price_cuts(factory)),
    ("checkout reservations", lambda factory, _settings: release_expired_reservations(factory)),
    ("referral rewards", lambda factory, _settings: release_referral_rewards(factory)),
    ("rate counter cleanup", lambda factory, _settings: delete_expired_rate_counters(factory)),
    ("webhook delivery", deliver_webhooks),
)


class JobBackoff:
    """When a sweep job keeps failing (the database is down, say): the next try waits the
    interval, then twice it, four times, ... up to `max_delay`; one log line per failed try."""

    def __init__(self, name: str, interval: float, max_delay: float) -> None:
        self.name = name
        self._interval = interval
        self._max_delay = max(max_delay, interval)
        self.failures = 0
        self.retry_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.retry_at

    def failed(self, error: Exception, now: float) -> None:
        metrics.SWEEP_RUNS.labels(self.name, "failed").inc()
        self.failures += 1
        delay = min(self._interval * 2 ** (self.failures - 1), self._max_delay)
        self.retry_at = now + delay
        # One line, no traceback: an outage repeats the same error every try, and a trace per
        # job per pass buried everything else in the log.
        reason = " ".join(str(error).split())[:200]
        log.error(
            "%s failed (%s: %s); %d in a row, next try in %.0f s",
            self.name,
            type(error).__name__,
            reason,
            self.failures,
            delay,
            extra={"job": self.name, "failures": self.failures, "retry_in_s": delay},
        )
        log.debug("%s failure", self.name, exc_info=error)  # the trace, for KINSAVE_LOG_LEVEL=debug

    def succeeded(self) -> None:
        metrics.SWEEP_RUNS.labels(self.name, "ok").inc()
        metrics.SWEEP_LAST_SUCCESS.labels(self.name).set_to_current_time()
        if self.failures:
            log.warning("%s recovered after %d failed tries", self.name, self.failures)
        self.failures = 0
        self.retry_at = 0.0


class Sweeper:
    """Runs the periodic jobs: on a daemon thread inside `kinsave serve`, or in the foreground
    of `kinsave worker`."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        interval: float,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._interval = interval
        self._settings = settings or Settings()
        self._clock = clock
        max_delay = self._settings.sweeper_max_backoff_seconds
        self._backoff = {name: JobBackoff(name, interval, max_delay) for name, _ in SWEEP_JOBS}
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
            self.sweep_once()

    def run_until_stopped(self) -> None:
        """Sweep now and every interval in this thread until `stop()` (`kinsave worker`)."""
        self.sweep_once()
        self._run()

    def sweep_once(self) -> None:
        now = self._clock()
        for name, job in SWEEP_JOBS:
            backoff = self._backoff[name]
            if not backoff.due(now):
                continue
            # Each job is guarded on its own: one failing job must not stop the others, and
            # what it did not settle waits for the next pass (nothing is lost).
            try:
                report = job(self._session_factory, self._settings)
            except Exception as error:
                backoff.failed(error, now)
                continue
            backoff.succeeded()
            if any(report.model_dump().values()):
                log.info("%s: %s", name, report.model_dump())
