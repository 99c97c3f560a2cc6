"""coupon-rush: a crowd claims one coupon whose stock is a fifth of the crowd.

Every shopper taps once in a random order; some tap again (one in ten up to two more times), and
the per-shopper limit is 2, so the rush exercises both refusals: `coupon_sold_out` once the stock
is gone and `coupon_limit_reached` for the eager. Every claim increments the same template row:
the hot row of this scenario. kinsave claims through the Redis gate when Redis answers (as the
server does when KINSAVE_REDIS_URL is set), else without it.
"""

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import func, select

from kinsave.bench import baseline, raw
from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.measure import Caller
from kinsave.coupons import claims
from kinsave.coupons import service as coupons
from kinsave.coupons.claims import ClaimRequest
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.coupons.schemas import TemplateIn
from kinsave.db import unit_of_work, utcnow
from kinsave.gates import make_gates

LIMIT = 2
VALID_DAYS = 30
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# service_unavailable (a deadlock or busy victim, rolled back, nothing issued; the client
# retries) is an honest answer, counted in the table; the checks below still must hold.
ANSWERS = {"ok", "coupon_sold_out", "coupon_limit_reached", "service_unavailable"}


def redis_url() -> str | None:
    """KINSAVE_REDIS_URL (or the local default) when Redis answers a ping, else None."""
    url = os.environ.get("KINSAVE_REDIS_URL") or DEFAULT_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except (redis.RedisError, ValueError):
        return None
    return url


@dataclass
class CouponPlan:
    template_id: str
    shop_id: str
    stock: int
    attempts: list[int]  # shopper indexes
    shopper_ids: list[str]

    def items(self) -> list[tuple[str, str]]:
        return [(self.template_id, self.shopper_ids[s]) for s in self.attempts]


def _batched(ctx: BenchContext, _plan: CouponPlan) -> Callable[[], Caller[Any]]:
    """What POST /v1/coupons/claim runs: the claim batcher, behind the gate when Redis answers."""
    return batched(
        ctx,
        claims.claim_many,
        lambda attempt: (ClaimRequest(*attempt), attempt[0]),
        gate=make_gates(ctx.settings.redis_url).coupon,
    )


def _raw(ctx: BenchContext, plan: CouponPlan) -> Callable[[], Caller[Any]]:
    def make() -> Caller[tuple[str, str]]:
        connection = raw.connect(ctx.database_url)
        ctx.cleanups.append(connection.close)

        def call(attempt: tuple[str, str]) -> str:
            now = utcnow()
            return raw.claim_coupon(
                connection,
                {
                    "template_id": attempt[0],
                    "shop_id": plan.shop_id,
                    "shopper_id": attempt[1],
                    "now": now,
                    "expires_at": now + timedelta(days=VALID_DAYS),
                },
            )

        return call

    return make


class CouponRush:
    name = "coupon-rush"

    inprocess_variants: dict[str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(
            ctx, lambda s, t, shopper: baseline.claim_coupon(s, t, shopper)
        ),
        "kinsave one-statement": lambda ctx, _plan: in_own_transaction(
            ctx, lambda s, t, shopper: claims.claim_coupon(s, shopper, t)
        ),
        "kinsave": _batched,
        "raw limit": _raw,
    }
    http_variants = {
        "do-nothing": "GET /v1/bench/noop",
        "straightforward": "POST /v1/bench/straightforward/coupons/claim",
        "kinsave one-statement": "POST /v1/bench/plain/coupons/claim",
        "kinsave": "POST /v1/coupons/claim",
    }

    def prepare(self, ctx: BenchContext) -> CouponPlan:
        scale = ctx.scale
        with unit_of_work(ctx.session_factory) as session:
            template = coupons.create_template(
                session,
                ctx.crowd.shop_id,
                TemplateIn(
                    name="Holiday rush 20 off",
                    kind="amount_off",
                    amount=2000,
                    stock=scale.coupon_stock,
                    per_shopper_limit=LIMIT,
                    valid_days=VALID_DAYS,
                ),
            )
        count = scale.coupon_shoppers
        attempts: list[int] = []
        for shopper in ctx.rng.sample(range(count), count):
            attempts.append(shopper)
            if ctx.rng.random() < 0.1:  # the eager tap again, once or twice
                for _ in range(ctx.rng.randint(1, 2)):
                    attempts.insert(ctx.rng.randrange(len(attempts) + 1), shopper)
        return CouponPlan(
            template.id, ctx.crowd.shop_id, scale.coupon_stock, attempts, ctx.crowd.shopper_ids
        )

    def http_targets(self, ctx: BenchContext, plan: CouponPlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        body = "" if method == "GET" else f'{{"template_id": "{plan.template_id}"}}'
        return [HttpTarget(method, path, ctx.crowd.tokens[s], body) for s in plan.attempts]

    def check(self, ctx: BenchContext, plan: CouponPlan, codes: list[str]) -> list[str]:
        """Exactly min(stock, demand) issued, nobody above the limit, issued == coupons."""
        problems = [
            f"unexpected answer {c!r} x{n}" for c, n in Counter(codes).items() if c not in ANSWERS
        ]
        with unit_of_work(ctx.session_factory) as session:
            held = dict(
                session.execute(
                    select(Coupon.shopper_id, func.count())
                    .where(Coupon.template_id == plan.template_id)
                    .group_by(Coupon.shopper_id)
                ).all()
            )
            issued, stock = session.execute(
                select(CouponTemplate.issued, CouponTemplate.stock).where(
                    CouponTemplate.id == plan.template_id
                )
            ).one()
        exist = sum(held.values())
        # Demand: each claimer's answered taps (a 503 did nothing), up to the limit.
        taps: Counter[int] = Counter(
            s for s, code in zip(plan.attempts, codes, strict=True) if code != "service_unavailable"
        )
        demand = sum(min(n, LIMIT) for n in taps.values())
        if exist != min(stock, demand):
            problems.append(f"{exist} coupons exist, expected min({stock}, {demand})")
        if issued != exist:
            problems.append(f"issued {issued} but {exist} coupons exist")
        if issued > stock:
            problems.append(f"issued {issued} above the stock {stock}")
        if codes.count("ok") != exist:
            problems.append(f"{codes.count('ok')} claims answered ok, {exist} coupons exist")
        problems += [f"{who} holds {n} (limit {LIMIT})" for who, n in held.items() if n > LIMIT]
        if "coupon_sold_out" not in codes:
            problems.append("the stock never ran out: the rush was not exercised")
        elif issued != stock:
            problems.append(f"refused sold out while {stock - issued} are left")
        for shopper, code in zip(plan.attempts, codes, strict=True):
            if code == "coupon_limit_reached" and held.get(plan.shopper_ids[shopper], 0) < LIMIT:
                problems.append(f"refused {plan.shopper_ids[shopper]} below the limit")
        return problems[:20]
