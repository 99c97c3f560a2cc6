"""daily-rush: a crowd claims one campaign's daily envelope and the budget runs out midway.

The budget holds about half of what the crowd would draw, so the second half of the rush is
refused `budget_exhausted`; some shoppers tap twice (`already_claimed_today`). Every claim debits
the same campaign budget: the hot row of this scenario.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from kinsave.bench import baseline, dblimit
from kinsave.bench.checks import Told, daily_problems
from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.seed import campaign
from kinsave.campaigns import service as campaigns
from kinsave.db import unit_of_work
from kinsave.envelopes import daily
from kinsave.envelopes.daily import DailyRequest
from kinsave.envelopes.daily_rule import UniformRule
from kinsave.envelopes.models import DailyClaim
from kinsave.ledger.models import Transfer

RULE = UniformRule(min=10, max=50)
ANSWERS = {"ok", "already_claimed_today", "budget_exhausted"}


@dataclass
class DailyPlan:
    campaign_id: str
    budget_account_id: int
    funded: int
    attempts: list[int]  # shopper indexes
    shopper_ids: list[str]
    amounts: list[int | None] = field(default_factory=list)  # set by the runner: the answers'

    def items(self) -> list[tuple[str, str]]:
        return [(self.campaign_id, self.shopper_ids[s]) for s in self.attempts]


def database_limit(ctx: BenchContext, _plan: DailyPlan) -> dblimit.ReplayedLimit:
    return dblimit.ReplayedLimit(
        ctx.settings,
        min(ctx.settings.grab_batch_max, ctx.scale.threads),
        daily.book_daily_claims,
        lambda attempt: DailyRequest(*attempt),
        lambda attempt: str(attempt[0]),
    )


class DailyRush:
    name = "daily-rush"
    answers = ANSWERS
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Any]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(ctx, baseline.claim_daily),
        # A claim alone, one unit of work each: what a request with an Idempotency-Key runs.
        "kinsave alone": lambda ctx, _plan: in_own_transaction(ctx, daily.claim_daily),
        "kinsave": lambda ctx, _plan: batched(
            ctx,
            daily.book_daily_claims,
            lambda attempt: (DailyRequest(*attempt), attempt[0]),
            gate=ctx.gates.daily,
        ),
        "database limit": database_limit,
    }
    http_variants = {
        "bare ASGI": "GET /v1/bench/bare",
        "do-nothing": "GET /v1/bench/noop",
        "straightforward": "POST /v1/bench/straightforward/daily/{target}/claim",
        "kinsave": "POST /v1/daily/{target}/claim",
    }

    def prepare(self, ctx: BenchContext) -> DailyPlan:
        count = ctx.scale.daily_shoppers
        budget = count * (RULE.min + RULE.max) // 4  # half of what the crowd would draw
        campaign_id, account = campaign(ctx.session_factory, ctx.crowd.shop_id, budget, RULE)
        attempts: list[int] = []
        for shopper in ctx.rng.sample(range(count), count):
            attempts.append(shopper)
            if ctx.rng.random() < 0.03:  # a second tap
                attempts.append(attempts[ctx.rng.randrange(len(attempts))])
        return DailyPlan(campaign_id, account, budget, attempts, ctx.crowd.shopper_ids)

    def http_targets(self, ctx: BenchContext, plan: DailyPlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        target = path.format(target=plan.campaign_id)
        return [HttpTarget(method, target, ctx.crowd.tokens[s]) for s in plan.attempts]

    def check(self, ctx: BenchContext, plan: DailyPlan, codes: list[str]) -> list[str]:
        """Per shopper: told ok <=> one claim, of the told amount, in their own wallet; budget
        never overdrawn, spent == paid, exhausted only when what is left is below a draw."""
        amounts = plan.amounts or [None] * len(codes)
        told: list[Told] = [
            (plan.campaign_id, plan.shopper_ids[s], code, amount)
            for s, code, amount in zip(plan.attempts, codes, amounts, strict=True)
        ]
        return daily_checks(ctx, {plan.campaign_id: plan.funded}, told)


def daily_checks(ctx: BenchContext, funded: dict[str, int], told: list[Told]) -> list[str]:
    """The daily checks over `told`, for campaigns funded with `funded` (id -> budget)."""
    with unit_of_work(ctx.session_factory) as session:
        problems = daily_problems(session, ctx.crowd.shop_id, told)
        for campaign_id, budget in funded.items():
            claimed = session.execute(
                select(func.coalesce(func.sum(DailyClaim.amount), 0)).where(
                    DailyClaim.campaign_id == campaign_id
                )
            ).scalar_one()
            paid = session.execute(
                select(func.coalesce(func.sum(Transfer.amount), 0)).where(
                    Transfer.kind == "daily_claim", Transfer.reference == campaign_id
                )
            ).scalar_one()
            remaining = campaigns.get_campaign(
                session, ctx.crowd.shop_id, campaign_id
            ).budget_remaining
            if int(paid) != int(claimed):
                problems.append(f"claim transfers {paid} differ from the claims ({claimed})")
            if remaining < 0 or budget - remaining != claimed:
                problems.append(f"budget {budget}: {remaining} left but {claimed} claimed")
            refused = [c for t, _, c, _ in told if t == campaign_id and c == "budget_exhausted"]
            if refused and remaining >= RULE.max:
                problems.append(f"refused budget_exhausted while {remaining} is left")
            if not refused:
                problems.append("the budget never ran out: the rush was not exercised")
    holders = {(t, s) for t, s, c, _ in told if c == "ok"}
    for target, shopper, code, _ in told:
        if code == "already_claimed_today" and (target, shopper) not in holders:
            problems.append(f"refused {shopper} who has no claim")
    return problems[:20]
