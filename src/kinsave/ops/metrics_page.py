"""The /metrics page: the processes' metrics (ops/metrics.py) and totals read from the database
at scrape time, the same for every process and so never summed: ledger transfers by kind (count
and amount: credit issued, redeemed, grabs, refunds), coupons by state, webhook deliveries by
status and the due backlog (each package's `totals.py`).
"""

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from kinsave.coupons import totals as coupon_totals
from kinsave.db import unit_of_work, utcnow
from kinsave.ledger import totals as ledger_totals
from kinsave.ops.metrics import MULTIPROCESS_DIR
from kinsave.webhooks import totals as webhook_totals

__all__ = ["CONTENT_TYPE_LATEST", "render"]


class DatabaseCollector(Collector):
    """Totals read from the database at scrape time (one short read transaction)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def collect(self) -> Iterator[Metric]:
        transfers = GaugeMetricFamily(
            "kinsave_ledger_transfers", "Ledger transfers by kind", labels=["kind"]
        )
        amounts = GaugeMetricFamily(
            "kinsave_ledger_transfer_amount_minor_units",
            "Money moved by ledger transfers of each kind, in minor units (fen)",
            labels=["kind"],
        )
        coupons = GaugeMetricFamily("kinsave_coupons", "Claimed coupons by state", labels=["state"])
        deliveries = GaugeMetricFamily(
            "kinsave_webhook_deliveries", "Webhook deliveries by status", labels=["status"]
        )
        backlog = GaugeMetricFamily("kinsave_webhook_backlog", "Pending webhook deliveries due now")
        with unit_of_work(self._session_factory) as session:
            for kind, (count, amount) in ledger_totals.transfer_totals(session).items():
                transfers.add_metric([kind], count)
                amounts.add_metric([kind], amount)
            for state, count in coupon_totals.coupons_by_state(session).items():
                coupons.add_metric([state], count)
            for status, count in webhook_totals.deliveries_by_status(session).items():
                deliveries.add_metric([status], count)
            backlog.add_metric([], webhook_totals.due_backlog(session, utcnow()))
        yield from (transfers, amounts, coupons, deliveries, backlog)


def render(session_factory: sessionmaker[Session]) -> bytes:
    """The text exposition: this process's (or all processes') metrics, then the database's."""
    if os.environ.get(MULTIPROCESS_DIR):
        processes: Any = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(session_factory))
    return generate_latest(processes) + generate_latest(database)
