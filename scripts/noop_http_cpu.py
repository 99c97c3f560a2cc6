"""Server CPU per do-nothing request over HTTP: `kinsave serve` (one process, SQLite, the bench's
settings, access log on into the bench's log file) answering `GET /v1/bench/noop` from the
bench's load generator at 32 connections.

    PYTHONPATH=src python scripts/noop_http_cpu.py [requests] [runs]

Everything a request pays outside its route: uvicorn, the middleware, FastAPI's routing, the
access line and the metrics. Prints req/s and the server's CPU per request (from /proc) per run.
Point PYTHONPATH at another checkout's src to compare two versions in the same window.
"""

import sys

from kinsave.bench.context import HttpTarget
from kinsave.bench.databases import temporary_database
from kinsave.bench.http import ApiServer, run_load
from kinsave.config import Settings
from kinsave.migrate import upgrade_to_head

NOOP = "/v1/bench/noop"


def main(requests: int, runs: int) -> None:
    with temporary_database("sqlite") as url:
        settings = Settings(
            database_url=url, bench_endpoints=True, rate_limits_enabled=False, sweeper_enabled=False
        )
        upgrade_to_head(settings)
        with ApiServer(settings, 1) as server:
            run_load(server.port, [HttpTarget("GET", NOOP, "")] * 1000, 32)  # warm up
            for _ in range(runs):
                before = server.cpu_seconds()
                load, _ = run_load(server.port, [HttpTarget("GET", NOOP, "")] * requests, 32)
                cpu_ms = (server.cpu_seconds() - before) / requests * 1000
                print(f"{requests / load.seconds:8.0f} req/s  {cpu_ms:.3f} ms server CPU/request")


if __name__ == "__main__":
    main(*(int(x) for x in (sys.argv[1:] + ["6000", "3"][len(sys.argv) - 1 :])))
