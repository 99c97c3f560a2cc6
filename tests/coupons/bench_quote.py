"""Benchmark: quote a 30-line cart against 50 held coupons (not a timed test).

CPU time of this process (time.process_time), so that other load on the machine counts less.
For a count that does not move with the machine's load, run it under callgrind twice, with and
without `--skip-quote`, and subtract: the difference is the instructions spent quoting.

Run: .venv/bin/python -m tests.coupons.bench_quote [--runs N] [--only typical|worst] [--skip-quote]
"""

import argparse
import gc
import random
import statistics
import time

from kinsave.coupons.pricing import CartLine, HeldCoupon
from kinsave.coupons.quote import quote

CATEGORIES = ["rice", "oil", "noodles", "snacks", "fruit", "dairy"]
KINDS = ["amount_off", "percent_off", "threshold", "free_shipping"]


def scenario(
    rng: random.Random, *, saturated: bool = False
) -> tuple[list[CartLine], list[HeldCoupon]]:
    lines = [
        CartLine(
            f"sku{i}",
            rng.randint(1, 3),
            rng.randint(100, 500 if saturated else 20000),
            rng.choice(CATEGORIES),
        )
        for i in range(30)
    ]
    coupons = []
    for i in range(50):
        scope = rng.choice(["store", "categories", "categories", "skus"])
        values = {
            "store": frozenset(),
            "categories": frozenset(rng.sample(CATEGORIES, rng.randint(1, 2))),
            "skus": frozenset(f"sku{n}" for n in rng.sample(range(30), 3)),
        }[scope]
        coupons.append(
            HeldCoupon(
                id=f"cpn{i:02d}",
                name=f"coupon {i}",
                kind=rng.choice(KINDS),
                amount=rng.choice([500, 1000, 2000, 5000]) * (20 if saturated else 1),
                percent=rng.choice([5, 10, 15, 20]),
                cap=rng.choice([0, 1000, 3000]),
                threshold=rng.choice([0, 9900, 19900, 49900]),
                scope=scope,
                scope_values=values,
                stacking_group=f"g{rng.randint(1, 8)}",
                credit_combinable=rng.random() < 0.8,
            )
        )
    return lines, coupons


def measure(label: str, saturated: bool, runs: int = 200, skip_quote: bool = False) -> None:
    rng = random.Random(2026)
    carts = [scenario(rng, saturated=saturated) for _ in range(runs)]
    # The carts built above are the benchmark's, not the optimiser's: keep the collector from
    # walking them all in the middle of some quote (it did, for 80 ms, once a run).
    gc.collect()
    gc.freeze()
    if skip_quote:  # the callgrind baseline: everything but the quotes
        return
    timings = []
    for lines, coupons in carts:
        start = time.process_time()
        quote(lines, 800, coupons, use_credit=2000, wallet_balance=5000)
        timings.append((time.process_time() - start) * 1000)
    timings.sort()
    print(
        f"{label}: median {statistics.median(timings):.2f} ms, "
        f"p95 {timings[int(runs * 0.95)]:.2f} ms, p99 {timings[int(runs * 0.99)]:.2f} ms, "
        f"max {timings[-1]:.2f} ms over {runs} carts"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", choices=["typical", "worst"])
    parser.add_argument("--skip-quote", action="store_true")
    args = parser.parse_args()
    if args.only != "worst":
        measure("30 lines x 50 coupons, typical", False, args.runs, args.skip_quote)
    if args.only != "typical":
        measure(
            "30 lines x 50 coupons, coupons larger than the cart", True, args.runs, args.skip_quote
        )
