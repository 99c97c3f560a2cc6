"""Prometheus metrics that each process counts (the /metrics page: ops/metrics_page.py).

Per process, in prometheus-client's registry: requests by route and status with latency
histograms (ops/request_log.py), storm batch sizes and queue depths (batcher.py), gate decisions
(gates/), database connections checked out of the pool, sweeper runs, failures and last success
per job (jobs.py).
With several API processes (`kinsave serve --workers N`, N > 1) these are kept in
prometheus-client's multiprocess files (PROMETHEUS_MULTIPROC_DIR, set by `kinsave serve`) and
summed across the processes at scrape time. Counting is always on; the page is off unless
KINSAVE_METRICS_TOKEN is set.
"""

import os

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import event
from sqlalchemy.engine import Engine

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter("kinsave_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "kinsave_http_request_duration_seconds",
    "Time from the request's arrival to its last byte sent",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "kinsave_batch_size",
    "Items committed together by a storm batcher",
    ["batcher"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
QUEUE_DEPTH = Gauge(
    "kinsave_batch_queue_depth",
    "Items waiting in a batcher lane when its last batch was taken",
    ["batcher"],
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "kinsave_db_pool_checked_out",
    "Database connections in use (checked out of the pool)",
    multiprocess_mode="livesum",
)
GATE_DECISIONS = Counter(
    "kinsave_gate_decisions",
    "Storm taps decided by a gate before the database: outcome is the refusal's error code, or"
    " admitted / passed (to the database) / missed (not seeded yet) / unavailable (store down)",
    ["gate", "outcome"],
)
SWEEP_RUNS = Counter("kinsave_sweeper_runs", "Sweeper job runs", ["job", "outcome"])
SWEEP_LAST_SUCCESS = Gauge(
    "kinsave_sweeper_last_success_timestamp_seconds",
    "When a sweeper job last succeeded (lag: time() minus this)",
    ["job"],
    multiprocess_mode="max",
)


# Each (method, route, status)'s counter and histogram, as `.labels()` returns them: asked on
# every request, `.labels()` checks and joins the labels under a lock (docs/benchmarks.md).
# Methods are bounded and routes are templates, so this is as small as prometheus-client's map.
_request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"  # clients choose methods: bound them
    series = _request_series.get((method, route, status))
    if series is None:
        series = REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)
        _request_series[method, route, status] = series
    series[0].inc()
    series[1].observe(seconds)


def watch_pool(engine: Engine) -> None:
    """Count connections in and out of the engine's pool."""
    event.listen(engine, "checkout", lambda *_args: POOL_CHECKED_OUT.inc())
    event.listen(engine, "checkin", lambda *_args: POOL_CHECKED_OUT.dec())


def process_exiting() -> None:
    """Drop this process's live gauges from the multiprocess files (a worker shutting down)."""
    if os.environ.get(MULTIPROCESS_DIR):
        prometheus_multiprocess.mark_process_dead(os.getpid())
