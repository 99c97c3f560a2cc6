"""What every scenario gets: the database, the crowd of shoppers, the sizes, a seeded random."""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kinsave.batch_outcomes import AloneFunction, BatchFunction
from kinsave.batcher import Batcher, BatchGate
from kinsave.bench.measure import Answer, Caller
from kinsave.bench.seed import Crowd
from kinsave.config import Settings
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.gates import Gates, make_gates

Item = TypeVar("Item")
PLAN_SEED = 20261125  # every variant's attempts are drawn from this seed: the same attempts
Attempt = TypeVar("Attempt")


@dataclass(frozen=True)
class Scale:
    """Sizes of one bench run. `full` is the issue's holiday; `quick` runs in about a minute."""

    envelopes: int
    shares: int
    grab_attempts: int
    grab_shoppers: int
    daily_shoppers: int
    coupon_shoppers: int = 1500  # coupon-rush: distinct shoppers claiming one coupon
    coupon_stock: int = 300  # coupon-rush: its stock (a fifth of the shoppers at every scale)
    quote_carts: int = 500  # quote: carts quoted per variant
    shop_envelopes: int = 3  # shop-envelope: envelopes of 100 shares, 30 tappers per share
    family_envelopes: int = 60  # family-envelope: envelopes of 10 shares, 20-200 members each
    holiday_shoppers: int = 1500  # holiday: shoppers in the crowd, each taps all three
    holiday_stock: int = 150  # holiday: the coupon's stock (a tenth of the crowd)
    threads: int = 32  # in-process load threads (a storm is many requests at once)
    # HTTP: concurrent keep-alive connections of the load generator. More than the server's 40
    # pool threads stalled SQLite before api._sqlite_write_gate (see docs/benchmarks.md); 32 kept.
    connections: int = 32

    @property
    def shoppers(self) -> int:
        return max(
            self.grab_shoppers, self.daily_shoppers, self.coupon_shoppers, self.holiday_shoppers
        )


SCALES = {
    "tiny": Scale(
        envelopes=4,
        shares=10,
        grab_attempts=80,
        grab_shoppers=40,
        daily_shoppers=60,
        coupon_shoppers=60,
        coupon_stock=12,
        quote_carts=20,
        shop_envelopes=2,
        family_envelopes=3,
        holiday_shoppers=60,
        holiday_stock=6,
        threads=4,
        connections=8,
    ),
    "quick": Scale(
        envelopes=15, shares=100, grab_attempts=3000, grab_shoppers=1000, daily_shoppers=1500
    ),
    "full": Scale(
        envelopes=1000,
        shares=100,
        grab_attempts=200_000,
        grab_shoppers=50_000,
        daily_shoppers=100_000,
        coupon_shoppers=50_000,
        coupon_stock=10_000,
        quote_carts=5000,
        shop_envelopes=30,
        family_envelopes=1000,
        holiday_shoppers=100_000,
        holiday_stock=10_000,
    ),
}


def resolve_scale(name: str) -> Scale:
    """A named scale, or a fraction of the full one (e.g. 0.1)."""
    if name in SCALES:
        return SCALES[name]
    fraction = float(name)
    full = SCALES["full"]
    return Scale(
        envelopes=max(1, int(full.envelopes * fraction)),
        shares=full.shares,
        grab_attempts=max(1, int(full.grab_attempts * fraction)),
        grab_shoppers=max(2, int(full.grab_shoppers * fraction)),
        daily_shoppers=max(2, int(full.daily_shoppers * fraction)),
        coupon_shoppers=max(5, int(full.coupon_shoppers * fraction)),
        coupon_stock=max(1, int(full.coupon_stock * fraction)),
        quote_carts=max(10, int(full.quote_carts * fraction)),
        shop_envelopes=max(1, int(full.shop_envelopes * fraction)),
        family_envelopes=max(2, int(full.family_envelopes * fraction)),
        holiday_shoppers=max(20, int(full.holiday_shoppers * fraction)),
        holiday_stock=max(2, int(full.holiday_stock * fraction)),
    )


@dataclass
class BenchContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    database_url: str
    crowd: Crowd
    scale: Scale
    rng: random.Random = field(default_factory=lambda: random.Random(PLAN_SEED))
    cleanups: list[Callable[[], Any]] = field(default_factory=list)  # run after each variant
    taken_shoppers: int = 0  # crowd shoppers a scenario took for itself (checkout), from the front

    @cached_property
    def gates(self) -> Gates:
        """The storm gates as the server builds them (gates/): on Redis when the bench has one."""
        return make_gates(self.settings.redis_url)

    @property
    def database(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"


class Plan(Protocol):
    """One variant's fresh data and its ordered attempts."""

    def items(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class HttpTarget:
    method: str
    path: str
    token: str
    body: str = ""  # JSON, sent with Content-Type: application/json when not empty


class Scenario(Protocol):
    name: str
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]]
    http_variants: dict[str, str]  # variant -> path template ({target} is the envelope/campaign)

    def prepare(self, ctx: BenchContext) -> Any: ...

    def http_targets(self, ctx: BenchContext, plan: Any, template: str) -> list[HttpTarget]: ...

    def check(self, ctx: BenchContext, plan: Any, codes: list[str]) -> list[str]: ...


def in_own_transaction(
    ctx: BenchContext, operation: Callable[..., Any]
) -> Callable[[], Caller[tuple[str, str]]]:
    """A variant that runs `operation(session, *attempt)` in its own unit of work per attempt,
    as a request's dependency would: "ok", the refusal's code, or service_unavailable (what the
    API answers for a database error; the transaction rolled back, nothing moved)."""

    def make() -> Caller[tuple[str, str]]:
        def call(attempt: tuple[str, str]) -> Answer:
            try:
                with unit_of_work(ctx.session_factory) as session:
                    result = operation(session, *attempt)
            except KinsaveError as refusal:
                return refusal.code
            except OperationalError:
                return "service_unavailable"
            return "ok", amount_of(result)

        return call

    return make


def batched(
    ctx: BenchContext,
    run_batch: BatchFunction[Item, Any],
    to_item: Callable[[Attempt], tuple[Item, str]],
    run_alone: AloneFunction[Item, Any] | None = None,
    *,
    gate: BatchGate | None = None,
    lanes: int | None = None,
) -> Callable[[], Caller[Attempt]]:
    """A variant that hands each attempt to one shared batcher, as the batched routes do (behind
    the route's gate); `to_item` gives the batch item and its order key (the envelope or
    campaign); `lanes`: the route's batcher's, if not the storms' default."""
    batcher: Batcher[Item, Any] = Batcher(
        ctx.session_factory,
        run_batch,
        max_batch=ctx.settings.grab_batch_max,
        lanes=lanes or ctx.settings.batch_lanes,
        run_alone=run_alone,
        gate=gate,
    )
    ctx.cleanups.append(batcher.stop)

    def make() -> Caller[Attempt]:
        def call(attempt: Attempt) -> Answer:
            item, order_key = to_item(attempt)
            try:
                result = batcher.run(item, order_key=order_key)
            except KinsaveError as refusal:
                return refusal.code
            return "ok", amount_of(result)

        return call

    return make


def amount_of(result: object) -> int | None:
    """The amount an answer carries (a grab's share, a daily claim), else None."""
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    amount = getattr(result, "amount", None)
    return amount if isinstance(amount, int) else None
