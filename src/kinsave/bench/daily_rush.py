"""daily-rush: a crowd claims one campaign's daily envelope and the budget runs out midway.

The budget holds about half of what the crowd would draw, so the second half of the rush is
refused `budget_exhausted`; some shoppers tap twice (`already_claimed_today`). Every claim debits
the same campaign budget: the hot row of this scenario.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from kinsave.bench import baseline
from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.measure import Caller
from kinsave.bench.seed import campaign
from kinsave.campaigns import service as campaigns
from kinsave.db import unit_of_work
from kinsave.envelopes import daily
from kinsave.envelopes.daily import DailyRequest
from kinsave.envelopes.daily_rule import UniformRule
from kinsave.envelopes.models import DailyClaim
from kinsave.ledger.models import Transfer

RULE = UniformRule(min=10, max=50)
# service_unavailable (a deadlock victim, rolled back, nothing moved; the client retries) is an
# honest answer, counted in the table, not a broken invariant: the checks below still must hold.
ANSWERS = {"ok", "already_claimed_today", "budget_exhausted", "service_unavailable"}


@dataclass
class DailyPlan:
    campaign_id: str
    budget_account_id: int
    funded: int
    attempts: list[int]  # shopper indexes
    shopper_ids: list[str]

    def items(self) -> list[tuple[str, str]]:
        return [(self.campaign_id, self.shopper_ids[s]) for s in self.attempts]


class DailyRush:
    name = "daily-rush"
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(ctx, baseline.claim_daily),
        # A claim alone, one unit of work each: what a request with an Idempotency-Key runs.
        "kinsave alone": lambda ctx, _plan: in_own_transaction(ctx, daily.claim_daily),
        "kinsave": lambda ctx, _plan: batched(
            ctx, daily.book_daily_claims, lambda attempt: (DailyRequest(*attempt), attempt[0])
        ),
    }
    http_variants = {
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
        """Once per shopper, budget never overdrawn, spent == paid, exhausted only when empty."""
        problems = [
            f"unexpected answer {c!r} x{n}" for c, n in Counter(codes).items() if c not in ANSWERS
        ]
        with unit_of_work(ctx.session_factory) as session:
            claims = session.execute(
                select(DailyClaim.shopper_id, DailyClaim.amount).where(
                    DailyClaim.campaign_id == plan.campaign_id
                )
            ).all()
            paid = session.execute(
                select(func.count(), func.coalesce(func.sum(Transfer.amount), 0)).where(
                    Transfer.kind == "daily_claim", Transfer.reference == plan.campaign_id
                )
            ).one()
            remaining = campaigns.get_campaign(
                session, ctx.crowd.shop_id, plan.campaign_id
            ).budget_remaining
        claimed = sum(amount for _, amount in claims)
        if codes.count("ok") != len(claims):
            problems.append(f"{codes.count('ok')} claims answered ok, {len(claims)} stored")
        if (paid[0], int(paid[1])) != (len(claims), claimed):
            problems.append(f"claim transfers {tuple(paid)} differ from the claims ({claimed})")
        if remaining < 0 or plan.funded - remaining != claimed:
            problems.append(f"budget {plan.funded}: {remaining} left but {claimed} claimed")
        if "budget_exhausted" in codes and remaining >= RULE.max:
            problems.append(f"refused budget_exhausted while {remaining} is left")
        if "budget_exhausted" not in codes:
            problems.append("the budget never ran out: the rush was not exercised")
        holders = {shopper for shopper, _ in claims}
        for shopper, code in zip(plan.attempts, codes, strict=True):
            if code == "already_claimed_today" and plan.shopper_ids[shopper] not in holders:
                problems.append(f"refused {plan.shopper_ids[shopper]} who has no claim")
        return problems[:20]
