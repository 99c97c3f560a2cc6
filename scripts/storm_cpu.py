"""Wall and CPU per storm batch, one thread, no batcher, no gate: the batch functions alone.

    PYTHONPATH=src python scripts/storm_cpu.py postgresql|sqlite [rounds]

`kinsave bench run` measures the machine as much as the code when other jobs share its cores.
This seeds a fresh database as the bench does (bench/seed.py), then calls the grab, daily claim
and coupon claim batch functions directly, 32 items a batch, each batch in its own unit of work
(commit included), and reports milliseconds of wall clock and of this process's CPU per batch:
the least of `rounds` interleaved blocks. grab-storm's shape: envelopes of 10 shares, two
grabbers per share, in envelope order; daily-rush's: a budget for about half the claims;
coupon-rush's: stock for half the claims, some shoppers claiming twice. Point PYTHONPATH at
another checkout's src to compare two versions (it finds the batch functions of the one
implementation, or the fast paths that came before it).
"""

import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from kinsave.bench import seed
from kinsave.bench.databases import temporary_database
from kinsave.campaigns.schemas import UniformRule
from kinsave.config import Settings
from kinsave.coupons import claims
from kinsave.coupons import service as coupons
from kinsave.coupons.schemas import TemplateIn
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.migrate import upgrade_to_head

BATCH = 32
SHARES = 10
ENVELOPES_PER_ROUND = 48  # 960 grab attempts a round, 30 batches
CLAIMS_PER_ROUND = 960


def batch_functions() -> tuple[
    Callable[..., Sequence[Any]], Any, Callable[..., Sequence[Any]], Any
]:
    """(grab batch function, grab request type, daily batch function, daily request type)."""
    try:
        from kinsave.envelopes import daily, grabs

        return grabs.book_grabs, grabs.GrabRequest, daily.book_daily_claims, daily.DailyRequest
    except ImportError:  # before the one implementation: the fast paths
        from kinsave.envelopes import daily_fastpath, fastpath  # type: ignore[attr-defined]

        return (
            fastpath.grab_many,
            fastpath.GrabRequest,
            daily_fastpath.claim_many,
            daily_fastpath.DailyRequest,
        )


def timed(
    factory: Any, function: Callable[..., Sequence[Any]], batches: list[list[Any]]
) -> tuple[float, float, list[str]]:
    """Milliseconds of wall clock and CPU per batch, and every answer's kind."""
    kinds: list[str] = []
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        with unit_of_work(factory) as session:
            outcomes = function(session, batch)
        kinds += [getattr(o, "code", type(o).__name__) for o in outcomes]
    count = len(batches)
    return (
        (time.perf_counter() - wall) * 1000 / count,
        (time.process_time() - cpu) * 1000 / count,
        kinds,
    )


def coupon_template(factory: Any, shop_id: str, stock: int) -> str:
    terms = TemplateIn(
        name="Rush", kind="amount_off", amount=2000, stock=stock, per_shopper_limit=2, valid_days=7
    )
    with unit_of_work(factory) as session:
        return coupons.create_template(session, shop_id, terms).id


def in_batches(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def main(backend: str, rounds: int) -> None:
    book_grabs, grab_request, book_daily, daily_request = batch_functions()
    with temporary_database(backend) as url:
        settings = Settings(database_url=url)
        engine = make_engine(settings)
        upgrade_to_head(settings, engine)
        factory = make_session_factory(engine)
        crowd = seed.crowd(factory, 2 * SHARES * ENVELOPES_PER_ROUND)
        shoppers = crowd.shopper_ids
        results: dict[str, list[tuple[float, float]]] = {"grab": [], "daily": [], "coupon": []}
        answers: dict[str, list[str]] = {}
        for _ in range(rounds):
            envelopes = seed.shop_envelopes(
                factory, settings, crowd.shop_id, ENVELOPES_PER_ROUND, SHARES, SHARES * 100
            )
            rng = random.Random(7)
            grabs = [
                grab_request(envelope_id, rng.choice(shoppers))
                for envelope_id in envelopes
                for _ in range(2 * SHARES)
            ]
            wall, cpu, answers["grab"] = timed(factory, book_grabs, in_batches(grabs))
            results["grab"].append((wall, cpu))
            campaign_id, _ = seed.campaign(
                factory, crowd.shop_id, CLAIMS_PER_ROUND * 50, UniformRule(min=1, max=199)
            )
            daily_claims = [
                daily_request(campaign_id, shoppers[i]) for i in range(CLAIMS_PER_ROUND)
            ]
            wall, cpu, answers["daily"] = timed(factory, book_daily, in_batches(daily_claims))
            results["daily"].append((wall, cpu))
            template_id = coupon_template(factory, crowd.shop_id, CLAIMS_PER_ROUND // 2)
            rush = [
                claims.ClaimRequest(template_id, shoppers[i % (CLAIMS_PER_ROUND * 2 // 3)])
                for i in range(CLAIMS_PER_ROUND)
            ]
            wall, cpu, answers["coupon"] = timed(factory, claims.claim_many, in_batches(rush))
            results["coupon"].append((wall, cpu))
        engine.dispose()
    for name, runs in results.items():
        walls = sorted(wall for wall, _ in runs)
        cpus = sorted(cpu for _, cpu in runs)
        print(
            f"{name}: per batch of {BATCH}: wall {walls[0]:.2f} ms"
            f" (median {walls[len(walls) // 2]:.2f}),"
            f" CPU {cpus[0]:.2f} ms (median {cpus[len(cpus) // 2]:.2f});"
            f" last round's answers {dict(sorted(Counter(answers[name]).items()))}"
        )


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "postgresql",
        int(sys.argv[2]) if len(sys.argv) > 2 else 5,
    )
