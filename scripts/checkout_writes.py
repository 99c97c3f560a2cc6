"""Statements and CPU per checkout write, in-process: the bench's checkout plan, its writes run
through the checkout batcher's batch function, 32 at a time, one kind after the other.

    PYTHONPATH=src python scripts/checkout_writes.py sqlite|postgresql [rounds] [--profile]

Seeds what `kinsave bench run --scenario checkout --quick` seeds (bench/checkout.py: 100
shoppers, two shops, 200 orders), quotes each order's cart three times, then runs every reserve,
every paid and every tenth order's refund through `store_writes.run_store_writes` in batches of
32, each batch one unit of work, as the batcher's lane does. Per kind it reports the statements
per write (SQLAlchemy's `before_cursor_execute`, SAVEPOINT and RELEASE included; beside it what
goes straight to the driver: on PostgreSQL psycopg's own `Connection.execute` calls, on SQLite
sqlite3's trace of every statement, an executemany counting each row), the process CPU and
wall time per write, and runs the scenario's checks on the answers. With --profile it writes
a cProfile (process CPU time) of each kind to ./checkout-writes-<db>-<kind>.prof. Point
PYTHONPATH at another checkout's src to compare two versions on the same machine.
"""

import cProfile
import json
import random
import sys
import time
from collections import Counter
from typing import Any

from sqlalchemy import event

from kinsave.auth.schemas import ShopPrincipal
from kinsave.bench import checkout as bench_checkout
from kinsave.bench import seed
from kinsave.bench.checkout import Checkout, Order
from kinsave.bench.checkout_checks import order_problems
from kinsave.bench.context import SCALES, BenchContext
from kinsave.bench.databases import temporary_database
from kinsave.config import Settings
from kinsave.coupons import checkout, orders, refunds, store_writes
from kinsave.coupons.checkout_schemas import PaidIn, QuoteIn, RefundIn, ReserveIn
from kinsave.coupons.store_writes import StoreWrite
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.migrate import upgrade_to_head

KINDS = ("reserve", "paid", "refund")
BATCH = 32


def main(db: str, rounds: int, profile: bool) -> None:
    with temporary_database(db) as url:
        settings = Settings(database_url=url, sweeper_enabled=False)
        engine = make_engine(settings)
        upgrade_to_head(settings)
        factory = make_session_factory(engine)
        counting = _Counting(engine, db)
        totals: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        for round_ in range(rounds):
            scale = SCALES["quick"]
            crowd = seed.crowd(factory, scale.quote_carts // 5 + 5)
            ctx = BenchContext(settings, factory, url, crowd, scale)
            ctx.rng = random.Random(7 + round_)
            plan = Checkout().prepare(ctx)
            _quote(factory, plan)
            for kind in KINDS:
                chosen = [o for o in plan.orders if kind != "refund" or o.refund]
                profiler = cProfile.Profile(time.process_time) if profile else None
                totals[kind] += _run(factory, plan, settings, kind, chosen, counting, profiler)
                if profiler is not None:
                    profiler.dump_stats(f"checkout-writes-{db}-{kind}.prof")
            with unit_of_work(factory) as session:
                shipping = bench_checkout.SHIPPING
                problems = order_problems(session, plan.seeded, plan.orders, shipping)
            print("problems:", problems[:5] or "none")
        direct = "sqlite3 trace" if db == "sqlite" else "psycopg direct"
        for kind, total in totals.items():
            n = total["writes"]
            cpu, wall = total["cpu_us"] / n / 1000, total["wall_us"] / n / 1000
            print(
                f"{db} {kind}: {n} writes, statements/write {total['statements'] / n:.2f}"
                f" ({direct} {total['direct'] / n:.2f}), CPU ms/write {cpu:.2f},"
                f" wall ms/write {wall:.2f}"
            )
        engine.dispose()


class _Counting:
    """Counts statements for the kind being run: SQLAlchemy's, and those sent to the driver."""

    def __init__(self, engine: Any, db: str) -> None:
        self.kind = ""
        self.statements: Counter[str] = Counter()
        self.direct: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._statement)
        if db == "sqlite":
            event.listen(engine, "connect", self._trace)
        else:
            import psycopg

            original = psycopg.Connection.execute
            direct = self.direct

            def execute(connection: Any, *args: Any, **kwargs: Any) -> Any:
                direct[self.kind] += 1
                return original(connection, *args, **kwargs)

            psycopg.Connection.execute = execute  # type: ignore[method-assign]

    def _statement(self, *args: Any) -> None:
        self.statements[self.kind] += 1

    def _trace(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(lambda _sql: self.direct.update([self.kind]))


def _quote(factory: Any, plan: Any) -> None:
    for order in plan.orders:
        shop_id = plan.seeded.shop_ids[order.shop]
        for view in range(len(bench_checkout.VIEWS)):
            data = QuoteIn.model_validate(order.quote_body(view))
            with unit_of_work(factory) as session:
                answer = checkout.quote_checkout_json(session, shop_id, data)
            order.answers[f"quote{view}"] = json.loads(answer)


def _write(plan: Any, settings: Settings, kind: str, order: Order) -> StoreWrite:
    shop_id = plan.seeded.shop_ids[order.shop]
    store = ShopPrincipal(shop_id=shop_id, role="store", key_prefix="bench")
    if kind == "reserve":
        data = ReserveIn.model_validate(order.reserve_body())
        hold = settings.checkout_hold_seconds
        return StoreWrite(store, kind, lambda s: checkout.reserve_checkout(s, shop_id, data, hold))
    if kind == "paid":
        return StoreWrite(
            store, kind, lambda s: orders.mark_order_paid(s, shop_id, order.order_id, PaidIn())
        )
    return StoreWrite(
        store, kind, lambda s: refunds.refund_order(s, shop_id, order.order_id, RefundIn())
    )


def _run(
    factory: Any,
    plan: Any,
    settings: Settings,
    kind: str,
    chosen: list[Order],
    counting: _Counting,
    profiler: cProfile.Profile | None,
) -> Counter[str]:
    total: Counter[str] = Counter()
    counting.kind = kind
    before = counting.statements[kind], counting.direct[kind]
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start : start + BATCH]
        writes = [_write(plan, settings, kind, order) for order in batch]
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        with unit_of_work(factory) as session:
            outcomes = store_writes.run_store_writes(session, writes)
        if profiler is not None:
            profiler.disable()
        total["cpu_us"] += int((time.process_time() - cpu) * 1e6)
        total["wall_us"] += int((time.perf_counter() - wall) * 1e6)
        for order, outcome in zip(batch, outcomes, strict=True):
            answered = hasattr(outcome, "model_dump")
            order.answers[kind] = outcome.model_dump(mode="json") if answered else {"error": 1}
    counting.kind = ""
    total["writes"] = len(chosen)
    total["statements"] = counting.statements[kind] - before[0]
    total["direct"] = counting.direct[kind] - before[1]
    return total


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(arguments[0], int(arguments[1]) if len(arguments) > 1 else 1, "--profile" in sys.argv)
