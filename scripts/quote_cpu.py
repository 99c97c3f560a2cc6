"""CPU per checkout quote, in-process: the ASGI app called directly, one request at a time.

    PYTHONPATH=src python scripts/quote_cpu.py sqlite|postgresql [rounds]

The bench's HTTP quote (`kinsave bench run --scenario quote --mode http`) measures the machine
as much as the code when other jobs share its cores. This drives the whole app (middleware,
routing, validation, the read, the optimiser, the answer) without uvicorn and the network, with
the bench's carts and coupons (bench/quote.py), and reports the process's CPU time per request,
the least of `rounds` interleaved blocks: the do-nothing endpoint, 60 distinct carts, and 30
carts quoted twice each (the bench's pattern). Point PYTHONPATH at another checkout's src to
compare two versions on the same machine.
"""

import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kinsave.app import create_app
from kinsave.auth import service as auth
from kinsave.bench import quote as bench_quote
from kinsave.bench.databases import temporary_database
from kinsave.config import Settings
from kinsave.coupons import claims
from kinsave.coupons import service as coupons
from kinsave.db import make_engine, make_session_factory, unit_of_work, utcnow
from kinsave.migrate import upgrade_to_head
from kinsave.storelinks import service as storelinks

QUOTE = "/v1/store/checkout/quote"
BLOCK = 60
Message = MutableMapping[str, Any]


async def call(app: Callable[..., Awaitable[None]], path: str, body: bytes | None, key: str) -> int:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET" if body is None else "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "scheme": "http",
        "root_path": "",
    }
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body or b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def seeded(settings: Settings, rng: random.Random) -> tuple[str, list[str]]:
    """A store key and 10 linked shoppers holding one coupon of each of the bench's 50."""
    session_factory = make_session_factory(make_engine(settings))
    with unit_of_work(session_factory) as session:
        shop = auth.ensure_shop(session, "Bench shop").id
        key = auth.create_api_key(session, shop, "store")
        shoppers = [auth.ensure_shopper(session, f"shopper{i}").id for i in range(10)]
        held = bench_quote.held(rng, saturated=False)
        templates = [
            coupons.create_template(session, shop, bench_quote._template_in(c)).id for c in held
        ]
    for shopper in shoppers:
        with unit_of_work(session_factory) as session:
            storelinks.link_shopper(session, shop, shopper, utcnow())
            for template in templates:
                claims.claim_coupon(session, shopper, template)
    return key, shoppers


def bodies(rng: random.Random, shoppers: list[str], count: int) -> list[bytes]:
    made = []
    for i in range(count):
        lines = bench_quote.cart(rng, saturated=False)
        body = {
            "shopper_id": shoppers[i % len(shoppers)],
            "lines": [
                {"sku": x.sku, "quantity": x.quantity, "unit_price": x.unit_price} for x in lines
            ],
            "shipping_fee": bench_quote.SHIPPING,
            "use_credit": bench_quote.USE_CREDIT,
        }
        made.append(json.dumps(body).encode())
    return made


async def measure(app: Any, key: str, carts: list[bytes], rounds: int) -> dict[str, float]:
    async def block(path: str, sequence: list[bytes | None]) -> float:
        started = time.process_time()
        for body in sequence:
            status = await call(app, path, body, key)
            assert status == 200, status
        return (time.process_time() - started) / len(sequence) * 1000

    best = {"do-nothing": 1e9, "distinct carts": 1e9, "each cart twice": 1e9}
    for body in carts[:20]:  # warm up
        await call(app, QUOTE, body, key)
    position = 20
    for _ in range(rounds):
        noop = await block("/v1/bench/noop", [None] * BLOCK)
        distinct = await block(QUOTE, list(carts[position : position + BLOCK]))
        position += BLOCK
        twice = [b for b in carts[position : position + BLOCK // 2] for _ in (0, 1)]
        position += BLOCK // 2
        repeated = await block(QUOTE, list(twice))
        for name, value in zip(best, (noop, distinct, repeated), strict=True):
            best[name] = min(best[name], value)
    return best


def main(kind: str, rounds: int) -> None:
    os.environ["KINSAVE_ACCESS_LOG"] = "0"
    with temporary_database(kind) as url:
        settings = Settings(
            database_url=url, bench_endpoints=True, rate_limits_enabled=False, sweeper_enabled=False
        )
        upgrade_to_head(settings)
        rng = random.Random(5)
        key, shoppers = seeded(settings, rng)
        carts = bodies(rng, shoppers, 20 + rounds * (BLOCK + BLOCK // 2))
        app = create_app(settings)

        async def run() -> dict[str, float]:
            async with app.router.lifespan_context(app):
                return await measure(app, key, carts, rounds)

        best = asyncio.run(run())
        app.state.engine.dispose()
    figures = "; ".join(f"{name} {ms:.3f} ms" for name, ms in best.items())
    share = best["do-nothing"] / best["each cart twice"] * 100
    print(f"{kind}: CPU per request: {figures}; do-nothing / quote (twice) {share:.1f} %")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6)
