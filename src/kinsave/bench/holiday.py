"""holiday: journey 6 at once, over HTTP.

The whole crowd (100,000 shoppers at full scale) does three things at the same moment, their
requests interleaved at random: each taps one of the shop's envelopes (100 shares, 30 tappers
per share), claims the campaign's daily envelope (a budget for half of the crowd's draws), and
rushes the coupon (stock: a tenth of the crowd, two per shopper; one in ten taps again). Every
grab, claim and coupon is checked as in grab-storm, daily-rush and coupon-rush, and the p50/p99
of each endpoint is recorded (notes "per_endpoint").
"""

from dataclasses import dataclass, field
from typing import Any

from kinsave.bench.checks import Told
from kinsave.bench.context import BenchContext, HttpTarget
from kinsave.bench.coupon_rush import coupon_checks, coupon_template
from kinsave.bench.daily_rush import RULE, daily_checks
from kinsave.bench.grab_storm import ANSWERS as GRAB_ANSWERS
from kinsave.bench.grab_storm import grab_checks
from kinsave.bench.seed import campaign, shop_envelopes

SHARES = 100
TAPPERS_PER_SHARE = 30
COUPON_AGAIN = 0.10
DAILY = "POST /v1/daily/{target}/claim"
GRAB = "POST /v1/envelopes/{target}/grab"
COUPON = "POST /v1/coupons/claim"
PUBLIC = "the public endpoints"  # kinsave's variant: each attempt to its own endpoint


@dataclass
class HolidayPlan:
    envelope_ids: list[str]
    campaign_id: str
    funded: int
    template_id: str
    stock: int
    attempts: list[tuple[str, int, int]]  # (endpoint, envelope index or 0, shopper index)
    shopper_ids: list[str]
    amounts: list[int | None] = field(default_factory=list)  # set by the runner: the answers'

    def items(self) -> list[tuple[str, int, int]]:
        return self.attempts

    @property
    def endpoints(self) -> list[str]:
        return [endpoint for endpoint, _, _ in self.attempts]


class Holiday:
    name = "holiday"
    answers = GRAB_ANSWERS | {"already_claimed_today", "budget_exhausted"}
    answers |= {"coupon_sold_out", "coupon_limit_reached"}
    inprocess_variants: dict[str, Any] = {}  # journey 6 is an HTTP storm
    http_variants = {
        "bare ASGI": "GET /v1/bench/bare",
        "do-nothing": "GET /v1/bench/noop",
        "signed do-nothing": "POST /v1/bench/signed-noop",
        "kinsave": PUBLIC,
    }

    def prepare(self, ctx: BenchContext) -> HolidayPlan:
        scale = ctx.scale
        crowd = min(scale.holiday_shoppers, len(ctx.crowd.shopper_ids))
        shares = min(SHARES, max(scale.shares, 10))
        count = max(1, -(-crowd // (shares * TAPPERS_PER_SHARE)))
        envelope_ids = shop_envelopes(
            ctx.session_factory, ctx.settings, ctx.crowd.shop_id, count, shares, shares * 88
        )
        funded = crowd * (RULE.min + RULE.max) // 4  # half of what the crowd would draw
        campaign_id, _ = campaign(ctx.session_factory, ctx.crowd.shop_id, funded, RULE)
        stock = min(scale.holiday_stock, max(1, crowd // 10))
        template_id = coupon_template(ctx, stock)
        keyed: list[tuple[float, tuple[str, int, int]]] = []
        for shopper in range(crowd):
            keyed.append((ctx.rng.random(), ("grab", shopper % count, shopper)))
            keyed.append((ctx.rng.random(), ("daily", 0, shopper)))
            for _ in range(1 + (ctx.rng.random() < COUPON_AGAIN)):
                keyed.append((ctx.rng.random(), ("coupon", 0, shopper)))
        keyed.sort(key=lambda pair: pair[0])
        attempts = [attempt for _, attempt in keyed]
        return HolidayPlan(
            envelope_ids, campaign_id, funded, template_id, stock, attempts, ctx.crowd.shopper_ids
        )

    def http_targets(self, ctx: BenchContext, plan: HolidayPlan, template: str) -> list[HttpTarget]:
        tokens = ctx.crowd.tokens
        if template != PUBLIC:  # one path for every attempt, the tapper's token
            method, path = template.split(" ", 1)
            return [HttpTarget(method, path, tokens[s]) for _, _, s in plan.attempts]
        body = f'{{"template_id": "{plan.template_id}"}}'
        targets = []
        for endpoint, envelope, shopper in plan.attempts:
            if endpoint == "grab":
                path = GRAB.split(" ", 1)[1].format(target=plan.envelope_ids[envelope])
                targets.append(HttpTarget("POST", path, tokens[shopper]))
            elif endpoint == "daily":
                path = DAILY.split(" ", 1)[1].format(target=plan.campaign_id)
                targets.append(HttpTarget("POST", path, tokens[shopper]))
            else:
                targets.append(HttpTarget("POST", COUPON.split(" ", 1)[1], tokens[shopper], body))
        return targets

    def check(self, ctx: BenchContext, plan: HolidayPlan, codes: list[str]) -> list[str]:
        """grab-storm's, daily-rush's and coupon-rush's checks, each on its own answers."""
        amounts = plan.amounts or [None] * len(codes)
        grabs: list[Told] = []
        claims: list[Told] = []
        coupons: list[tuple[str, str, str]] = []
        for (endpoint, envelope, s), code, amount in zip(
            plan.attempts, codes, amounts, strict=True
        ):
            shopper = plan.shopper_ids[s]
            if endpoint == "grab":
                grabs.append((plan.envelope_ids[envelope], shopper, code, amount))
            elif endpoint == "daily":
                claims.append((plan.campaign_id, shopper, code, amount))
            else:
                coupons.append((plan.template_id, shopper, code))
        problems = [f"grab: {p}" for p in grab_checks(ctx, grabs)]
        problems += [
            f"daily: {p}" for p in daily_checks(ctx, {plan.campaign_id: plan.funded}, claims)
        ]
        problems += [
            f"coupon: {p}" for p in coupon_checks(ctx, {plan.template_id: plan.stock}, coupons)
        ]
        return problems[:30]
