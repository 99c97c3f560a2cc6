"""coupon-rush: a crowd claims one coupon whose stock is a fifth of the crowd.

Every shopper taps once in a random order; some tap again (one in ten up to two more times), and
the per-shopper limit is 2, so the rush exercises both refusals: `coupon_sold_out` once the stock
is gone and `coupon_limit_reached` for the eager. Every claim increments the same template row:
the hot row of this scenario. kinsave claims through the Redis gate when Redis answers (as the
server does when KINSAVE_REDIS_URL is set), else without it.
"""

import os
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import func, select

from kinsave.bench import baseline, dblimit
from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.measure import Caller
from kinsave.coupons import claims
from kinsave.coupons import service as coupons
from kinsave.coupons.claims import ClaimRequest
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.coupons.schemas import TemplateIn
from kinsave.db import unit_of_work, utcnow

LIMIT = 2
VALID_DAYS = 30
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ANSWERS = {"ok", "coupon_sold_out", "coupon_limit_reached"}


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
    """What POST /v1/coupons/claim runs: the claim batcher behind the coupon gate (gates/)."""
    return batched(
        ctx,
        claims.claim_many,
        lambda attempt: (ClaimRequest(*attempt), attempt[0]),
        gate=ctx.gates.coupon,
    )


def coupon_template(ctx: BenchContext, stock: int) -> str:
    """A fresh coupon of `stock`, LIMIT per shopper, at the crowd's shop."""
    with unit_of_work(ctx.session_factory) as session:
        return coupons.create_template(
            session,
            ctx.crowd.shop_id,
            TemplateIn(
                name="Holiday rush 20 off",
                kind="amount_off",
                amount=2000,
                stock=stock,
                per_shopper_limit=LIMIT,
                valid_days=VALID_DAYS,
            ),
        ).id


def database_limit(ctx: BenchContext, plan: CouponPlan) -> dblimit.DatabaseLimit:
    def draft(attempt: tuple[str, str]) -> dict[str, Any]:
        now = utcnow()
        return {
            "coupon_id": f"cpn_{secrets.token_hex(8)}",
            "template_id": attempt[0],
            "shop_id": plan.shop_id,
            "shopper_id": attempt[1],
            "now": now,
            "expires_at": now + timedelta(days=VALID_DAYS),
        }

    return dblimit.DatabaseLimit(
        ctx.database_url,
        min(ctx.settings.grab_batch_max, ctx.scale.threads),
        draft,
        lambda attempt: str(attempt[0]),
        dblimit.pg_coupons,
        dblimit.sqlite_coupons,
    )


class CouponRush:
    name = "coupon-rush"
    answers = ANSWERS
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Any]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(
            ctx, lambda s, t, shopper: baseline.claim_coupon(s, t, shopper)
        ),
        "kinsave one-statement": lambda ctx, _plan: in_own_transaction(
            ctx, lambda s, t, shopper: claims.claim_coupon(s, shopper, t)
        ),
        "kinsave": _batched,
        "database limit": database_limit,
    }
    http_variants = {
        "bare ASGI": "GET /v1/bench/bare",
        "do-nothing": "GET /v1/bench/noop",
        "straightforward": "POST /v1/bench/straightforward/coupons/claim",
        "kinsave one-statement": "POST /v1/bench/plain/coupons/claim",
        "kinsave": "POST /v1/coupons/claim",
    }

    def prepare(self, ctx: BenchContext) -> CouponPlan:
        scale = ctx.scale
        template_id = coupon_template(ctx, scale.coupon_stock)
        count = scale.coupon_shoppers
        attempts: list[int] = []
        for shopper in ctx.rng.sample(range(count), count):
            attempts.append(shopper)
            if ctx.rng.random() < 0.1:  # the eager tap again, once or twice
                for _ in range(ctx.rng.randint(1, 2)):
                    attempts.insert(ctx.rng.randrange(len(attempts) + 1), shopper)
        return CouponPlan(
            template_id, ctx.crowd.shop_id, scale.coupon_stock, attempts, ctx.crowd.shopper_ids
        )

    def http_targets(self, ctx: BenchContext, plan: CouponPlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        body = "" if method == "GET" else f'{{"template_id": "{plan.template_id}"}}'
        return [HttpTarget(method, path, ctx.crowd.tokens[s], body) for s in plan.attempts]

    def check(self, ctx: BenchContext, plan: CouponPlan, codes: list[str]) -> list[str]:
        """Per shopper: coupons held == "ok" answers; exactly min(stock, demand) issued, nobody
        above the limit, issued == coupons, sold out only once the stock is gone."""
        told = [
            (plan.template_id, plan.shopper_ids[s], code)
            for s, code in zip(plan.attempts, codes, strict=True)
        ]
        return coupon_checks(ctx, {plan.template_id: plan.stock}, told)


def coupon_checks(
    ctx: BenchContext, stocks: dict[str, int], told: list[tuple[str, str, str]]
) -> list[str]:
    """The coupon checks over `told` (template, shopper, code), templates of `stocks`."""
    problems: list[str] = []
    with unit_of_work(ctx.session_factory) as session:
        held = Counter(
            dict(
                ((template, shopper), n)
                for template, shopper, n in session.execute(
                    select(Coupon.template_id, Coupon.shopper_id, func.count())
                    .where(Coupon.template_id.in_(stocks))
                    .group_by(Coupon.template_id, Coupon.shopper_id)
                )
            )
        )
        issued = dict(
            session.execute(
                select(CouponTemplate.id, CouponTemplate.issued).where(
                    CouponTemplate.id.in_(stocks)
                )
            ).all()
        )
    oks = Counter((t, s) for t, s, code in told if code == "ok")
    problems += [
        f"{s} holds {held[(t, s)]} of {t} but was told ok {oks[(t, s)]} times"
        for t, s in held.keys() | oks.keys()
        if held[(t, s)] != oks[(t, s)]
    ]
    problems += [f"{s} holds {n} of {t} (limit {LIMIT})" for (t, s), n in held.items() if n > LIMIT]
    for template_id, stock in stocks.items():
        exist = sum(n for (t, _), n in held.items() if t == template_id)
        taps = Counter(s for t, s, _ in told if t == template_id)
        demand = sum(min(n, LIMIT) for n in taps.values())
        codes = [code for t, _, code in told if t == template_id]
        if exist != min(stock, demand):
            problems.append(f"{exist} coupons exist, expected min({stock}, {demand})")
        if issued[template_id] != exist:
            problems.append(f"issued {issued[template_id]} but {exist} coupons exist")
        if "coupon_sold_out" not in codes:
            problems.append("the stock never ran out: the rush was not exercised")
        elif issued[template_id] != stock:
            problems.append(f"refused sold out while {stock - issued[template_id]} are left")
    for template_id, shopper, code in told:
        if code == "coupon_limit_reached" and held[(template_id, shopper)] < LIMIT:
            problems.append(f"refused {shopper} below the limit")
    return problems[:20]
