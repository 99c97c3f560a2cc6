"""Server CPU per refused grab over HTTP against a do-nothing request, with no grant in the run.

    PYTHONPATH=src:examples/store python scripts/refusal_http_cpu.py [requests] [rounds]

`kinsave serve` (one process, SQLite, gates in memory, the bench's settings, access log on into
the bench's log file) answering, from the bench's load generator at 32 connections, blocks of
`requests` each, interleaved: `GET /v1/bench/noop`; refused grabs (`envelope_empty`) of an
envelope emptied before, each by a shopper the server has not seen yet ("new": the session read
on the loop); and the same shoppers again ("seen": the session cache's, 30 s as in the bench).
The shop-envelope scenario mixes its ~3 % grants (a batch committed on
a thread) into its refusals; this separates the refusal's own HTTP cost from theirs. Prints req/s
and the server's CPU per request (from /proc) per block.
"""

import sys

from kinsave.bench import seed
from kinsave.bench.context import HttpTarget
from kinsave.bench.databases import temporary_database
from kinsave.bench.http import ApiServer, run_load
from kinsave.config import Settings
from kinsave.db import make_engine, make_session_factory
from kinsave.migrate import upgrade_to_head

NOOP = "/v1/bench/noop"
CONNECTIONS = 32


def block(server: ApiServer, targets: list[HttpTarget], expect: str) -> tuple[float, float]:
    before = server.cpu_seconds()
    load, _ = run_load(server.port, targets, CONNECTIONS)
    cpu_ms = (server.cpu_seconds() - before) / len(targets) * 1000
    assert set(load.codes) == {expect}, set(load.codes)
    return len(targets) / load.seconds, cpu_ms


def main(requests: int, rounds: int) -> None:
    with temporary_database("sqlite") as url:
        settings = Settings(
            database_url=url,
            bench_endpoints=True,
            rate_limits_enabled=False,
            sweeper_enabled=False,
            session_cache_seconds=30.0,  # as the bench's runs have it
        )
        upgrade_to_head(settings)
        factory = make_session_factory(make_engine(settings))
        crowd = seed.crowd(factory, requests * (rounds + 1) + 1)
        (empty,) = seed.shop_envelopes(factory, settings, crowd.shop_id, 1, 1, 100)
        grab = f"/v1/envelopes/{empty}/grab"
        tokens = iter(crowd.tokens)
        with ApiServer(settings, 1) as server:
            run_load(server.port, [HttpTarget("POST", grab, next(tokens))], 1)  # empties it
            warm = [HttpTarget("POST", grab, next(tokens)) for _ in range(requests)]
            run_load(server.port, warm, CONNECTIONS)
            run_load(server.port, [HttpTarget("GET", NOOP, "")] * requests, CONNECTIONS)
            for _ in range(rounds):
                new = [HttpTarget("POST", grab, next(tokens)) for _ in range(requests)]
                figures = {
                    "do-nothing": block(server, [HttpTarget("GET", NOOP, "")] * requests, "ok"),
                    "refused new": block(server, new, "envelope_empty"),
                    "refused seen": block(server, new, "envelope_empty"),
                }
                noop_ms = figures["do-nothing"][1]
                print(
                    "  ".join(
                        f"{name} {rate:6.0f} req/s {ms:.3f} ms ({ms / noop_ms:.2f}x)"
                        for name, (rate, ms) in figures.items()
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main(*(int(x) for x in (sys.argv[1:] + ["3000", "3"][len(sys.argv) - 1 :])))
