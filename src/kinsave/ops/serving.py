"""Running the processes: the API under uvicorn (or granian), and the worker that runs the
background jobs.

The `kinsave serve` and `kinsave worker` commands (cli.py) parse their options and call these.
"""

import logging
import logging.config
import os
import signal
import tempfile

from kinsave.config import Settings
from kinsave.db import make_engine, make_session_factory
from kinsave.jobs import Sweeper
from kinsave.ops.log_config import log_config
from kinsave.ops.metrics import MULTIPROCESS_DIR
from kinsave.ops.production_check import unsafe_settings


def warn_unsafe(settings: Settings, workers: int) -> None:
    """Log each setting unsafe for production (through logging, so that with
    KINSAVE_LOG_FORMAT=json these are JSON lines too), once, before the API processes start."""
    logging.config.dictConfig(log_config(settings))
    for finding in unsafe_settings(settings, workers):
        logging.getLogger("kinsave.check").warning(
            "unsafe for production: %s: %s", finding.setting, finding.why
        )


SERVERS = ("uvicorn", "granian")
DEFAULT_SERVER = "uvicorn"  # decision 30 (docs/decisions.md): granian measured, not faster here


def serve_api(
    settings: Settings, host: str, port: int, workers: int, server: str = DEFAULT_SERVER
) -> None:
    """`workers` API processes on `server`, each building the app from the environment."""
    if workers > 1 and not os.environ.get(MULTIPROCESS_DIR):
        # Each API process writes its metrics here; /metrics sums them (ops/metrics.py).
        os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="kinsave-metrics-")
    # Each process reads it (Settings.api_processes): several without Redis run no gates.
    os.environ["KINSAVE_API_PROCESSES"] = str(max(workers, settings.api_processes))
    if server == "uvicorn":
        _uvicorn(settings, host, port, workers)
    elif server == "granian":
        _granian(settings, host, port, workers)
    else:
        raise ValueError(f"unknown server {server!r}: one of {SERVERS}")


def _uvicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from kinsave.ops.http_protocol import OneWriteHttpToolsProtocol

    uvicorn.run(
        "kinsave.ops.asgi:served_app",
        factory=True,
        # httptools, as uvicorn's "auto" picks it, with each answer in one socket write
        # (ops/http_protocol.py); uvloop, as "auto" picks it (uvicorn[standard]).
        http=OneWriteHttpToolsProtocol,
        host=host,
        port=port,
        workers=workers,
        # Forwarded headers only from the proxies the setting names (none by default): anyone
        # else could rotate X-Forwarded-For to escape every per-IP rate limit.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        log_config=log_config(settings),
        log_level="warning",
        access_log=False,  # kinsave's own access line (ops/request_log.py) has the request id
    )


def _granian(settings: Settings, host: str, port: int, workers: int) -> None:
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        "kinsave.ops.asgi:granian_app",  # forwarded headers from the trusted proxies only
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        log_dictconfig=log_config(settings),
        log_level=LogLevels.warning,
        log_access=False,  # kinsave's own access line (ops/request_log.py) has the request id
    ).serve()


def run_worker(settings: Settings) -> None:
    """The sweeper in the foreground until SIGTERM or SIGINT (after its current pass)."""
    logging.config.dictConfig(log_config(settings))
    engine = make_engine(settings)
    sweeper = Sweeper(
        make_session_factory(engine), settings.sweeper_interval_seconds, settings=settings
    )
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda _signal, _frame: sweeper.stop())
    logging.getLogger("kinsave.jobs").info(
        "worker started: every %s s", settings.sweeper_interval_seconds
    )
    try:
        sweeper.run_until_stopped()
    finally:
        engine.dispose()
