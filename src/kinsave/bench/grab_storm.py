"""grab-storm: shop envelopes of pre-split shares and a crowd grabbing them in waves.

Attempts come in envelope order with a little jitter, so a handful of envelopes are hot at any
moment (many grabbers on the same envelope at once), about two grabbers per share (so half are
refused `envelope_empty`), and some shoppers tap twice (`already_grabbed`).
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from kinsave.bench import baseline, dblimit
from kinsave.bench.checks import Told, grab_problems
from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.seed import shop_envelopes
from kinsave.db import unit_of_work
from kinsave.envelopes import grabs
from kinsave.envelopes.grabs import GrabRequest
from kinsave.envelopes.models import EnvelopeShare

Attempt = tuple[str, str]  # (envelope id, shopper id)
# envelope_busy: every open share was held by grabs in flight for a whole second; expected only
# of an envelope that ends with no open share (checked below).
ANSWERS = {"ok", "envelope_empty", "already_grabbed", "envelope_busy"}


@dataclass
class GrabPlan:
    envelope_ids: list[str]
    attempts: list[tuple[int, int]]  # (envelope index, shopper index)
    shopper_ids: list[str]
    amounts: list[int | None] = field(default_factory=list)  # set by the runner: the answers'

    def items(self) -> list[Attempt]:
        return [(self.envelope_ids[e], self.shopper_ids[s]) for e, s in self.attempts]


def database_limit(ctx: BenchContext, _plan: GrabPlan) -> dblimit.ReplayedLimit:
    return dblimit.ReplayedLimit(
        ctx.settings,
        min(ctx.settings.grab_batch_max, ctx.scale.threads),
        grabs.book_grabs,
        lambda attempt: GrabRequest(*attempt),
        lambda attempt: str(attempt[0]),
    )


class GrabStorm:
    name = "grab-storm"
    answers = ANSWERS
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Any]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(ctx, baseline.grab_share),
        # A grab alone, one unit of work each: what a request with an Idempotency-Key runs.
        "kinsave alone": lambda ctx, _plan: in_own_transaction(ctx, grabs.grab_share),
        "kinsave": lambda ctx, _plan: batched(
            ctx,
            grabs.book_grabs,
            lambda attempt: (GrabRequest(*attempt), attempt[0]),
            grabs.grab_alone,
            gate=ctx.gates.grab,
        ),
        "database limit": database_limit,
    }
    http_variants = {
        "bare ASGI": "GET /v1/bench/bare",
        "do-nothing": "GET /v1/bench/noop",
        "signed do-nothing": "POST /v1/bench/signed-noop",
        "straightforward": "POST /v1/bench/straightforward/envelopes/{target}/grab",
        "kinsave": "POST /v1/envelopes/{target}/grab",
    }

    def envelopes(self, ctx: BenchContext) -> tuple[int, int]:
        """How many envelopes, of how many shares."""
        return ctx.scale.envelopes, ctx.scale.shares

    def prepare(self, ctx: BenchContext) -> GrabPlan:
        count, shares = self.envelopes(ctx)
        ids = shop_envelopes(
            ctx.session_factory,
            ctx.settings,
            ctx.crowd.shop_id,
            count,
            shares,
            total=shares * 88,
        )
        return GrabPlan(ids, self.attempts(ctx, count), ctx.crowd.shopper_ids)

    def attempts(self, ctx: BenchContext, count: int) -> list[tuple[int, int]]:
        """Waves through the envelopes, about two grabbers per share, 3 % second taps."""
        scale = ctx.scale
        attempts: list[tuple[int, int]] = []
        for i in range(scale.grab_attempts):
            if attempts and ctx.rng.random() < 0.03:  # a second tap on a recent envelope
                attempts.append(
                    attempts[ctx.rng.randrange(max(0, len(attempts) - 50), len(attempts))]
                )
                continue
            wave = i * count // scale.grab_attempts + ctx.rng.randint(-2, 2)
            attempts.append((min(count - 1, max(0, wave)), ctx.rng.randrange(scale.grab_shoppers)))
        return attempts

    def http_targets(self, ctx: BenchContext, plan: GrabPlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        return [
            HttpTarget(method, path.format(target=plan.envelope_ids[e]), ctx.crowd.tokens[s])
            for e, s in plan.attempts
        ]

    def check(self, ctx: BenchContext, plan: GrabPlan, codes: list[str]) -> list[str]:
        """Per shopper: told ok <=> holds one share, of the told amount, in their own wallet;
        every refusal true at the end (no envelope_empty while a share is open); escrow exact."""
        amounts = plan.amounts or [None] * len(codes)
        told: list[Told] = [
            (plan.envelope_ids[e], plan.shopper_ids[s], code, amount)
            for (e, s), code, amount in zip(plan.attempts, codes, amounts, strict=True)
        ]
        return grab_checks(ctx, told)


def grab_checks(ctx: BenchContext, told: list[Told]) -> list[str]:
    """The grab checks over `told` (several plans may share one run: holiday)."""
    envelope_ids = sorted({e for e, *_ in told})
    with unit_of_work(ctx.session_factory) as session:
        problems = grab_problems(session, ctx.crowd.shop_id, told)
        rows = session.execute(
            select(EnvelopeShare.envelope_id, EnvelopeShare.grabbed_by).where(
                EnvelopeShare.envelope_id.in_(envelope_ids)
            )
        ).all()
    holders: dict[str, set[str]] = defaultdict(set)
    open_shares: Counter[str] = Counter()
    for envelope_id, grabbed_by in rows:
        if grabbed_by is None:
            open_shares[envelope_id] += 1
        else:
            holders[envelope_id].add(grabbed_by)
    for envelope_id, shopper_id, code, _ in told:
        if code in ("envelope_empty", "envelope_busy") and open_shares[envelope_id]:
            problems.append(f"{envelope_id}: refused {code} but shares are still open")
        if code == "already_grabbed" and shopper_id not in holders[envelope_id]:
            problems.append(f"{envelope_id}: refused {shopper_id} who holds no share")
    if "envelope_empty" not in {code for _, _, code, _ in told}:
        problems.append("no envelope ran out: the storm was not exercised")
    return problems[:20]
