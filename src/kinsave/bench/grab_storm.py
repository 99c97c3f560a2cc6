"""grab-storm: shop envelopes of pre-split shares and a crowd grabbing them in waves.

Attempts come in envelope order with a little jitter, so a handful of envelopes are hot at any
moment (many grabbers on the same envelope at once), about two grabbers per share (so half are
refused `envelope_empty`), and some shoppers tap twice (`already_grabbed`).
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from kinsave.bench import baseline
from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.measure import Caller
from kinsave.bench.seed import shop_envelopes
from kinsave.db import unit_of_work
from kinsave.envelopes import grabs
from kinsave.envelopes.grabs import GrabRequest
from kinsave.envelopes.models import EnvelopeShare
from kinsave.ledger.models import Transfer

Attempt = tuple[str, str]  # (envelope id, shopper id)
# service_unavailable (a deadlock victim, rolled back, nothing moved; the client retries) is an
# honest answer, counted in the table, not a broken invariant: the checks below still must hold.
ANSWERS = {"ok", "envelope_empty", "already_grabbed", "service_unavailable"}


@dataclass
class GrabPlan:
    envelope_ids: list[str]
    attempts: list[tuple[int, int]]  # (envelope index, shopper index)
    shopper_ids: list[str]

    def items(self) -> list[Attempt]:
        return [(self.envelope_ids[e], self.shopper_ids[s]) for e, s in self.attempts]


class GrabStorm:
    name = "grab-storm"
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(ctx, baseline.grab_share),
        # A grab alone, one unit of work each: what a request with an Idempotency-Key runs.
        "kinsave alone": lambda ctx, _plan: in_own_transaction(ctx, grabs.grab_share),
        "kinsave": lambda ctx, _plan: batched(
            ctx,
            grabs.book_grabs,
            lambda attempt: (GrabRequest(*attempt), attempt[0]),
            grabs.grab_alone,
        ),
    }
    http_variants = {
        "do-nothing": "GET /v1/bench/noop",
        "straightforward": "POST /v1/bench/straightforward/envelopes/{target}/grab",
        "kinsave": "POST /v1/envelopes/{target}/grab",
    }

    def prepare(self, ctx: BenchContext) -> GrabPlan:
        scale = ctx.scale
        ids = shop_envelopes(
            ctx.session_factory,
            ctx.settings,
            ctx.crowd.shop_id,
            scale.envelopes,
            scale.shares,
            total=scale.shares * 88,
        )
        count, shoppers = scale.envelopes, scale.grab_shoppers
        attempts: list[tuple[int, int]] = []
        for i in range(scale.grab_attempts):
            if attempts and ctx.rng.random() < 0.03:  # a second tap on a recent envelope
                attempts.append(
                    attempts[ctx.rng.randrange(max(0, len(attempts) - 50), len(attempts))]
                )
                continue
            wave = i * count // scale.grab_attempts + ctx.rng.randint(-2, 2)
            attempts.append((min(count - 1, max(0, wave)), ctx.rng.randrange(shoppers)))
        return GrabPlan(ids, attempts, ctx.crowd.shopper_ids)

    def http_targets(self, ctx: BenchContext, plan: GrabPlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        return [
            HttpTarget(method, path.format(target=plan.envelope_ids[e]), ctx.crowd.tokens[s])
            for e, s in plan.attempts
        ]

    def check(self, ctx: BenchContext, plan: GrabPlan, codes: list[str]) -> list[str]:
        """No double grab, every answer true at the end, escrow exact, ledger reconciled."""
        problems = [
            f"unexpected answer {c!r} x{n}" for c, n in Counter(codes).items() if c not in ANSWERS
        ]
        with unit_of_work(ctx.session_factory) as session:
            rows = session.execute(
                select(
                    EnvelopeShare.envelope_id, EnvelopeShare.grabbed_by, EnvelopeShare.amount
                ).where(EnvelopeShare.envelope_id.in_(plan.envelope_ids))
            ).all()
            booked = session.execute(
                select(func.count(), func.coalesce(func.sum(Transfer.amount), 0)).where(
                    Transfer.kind == "envelope_grab", Transfer.reference.in_(plan.envelope_ids)
                )
            ).one()
        holders: dict[str, Counter[str]] = defaultdict(Counter)
        open_shares: Counter[str] = Counter()
        for envelope_id, grabbed_by, _ in rows:
            if grabbed_by is None:
                open_shares[envelope_id] += 1
            else:
                holders[envelope_id][grabbed_by] += 1
        grabbed = [r for r in rows if r[1] is not None]
        problems += [
            f"{e}: {who} holds {n} shares"
            for e, c in holders.items()
            for who, n in c.items()
            if n > 1
        ]
        if codes.count("ok") != len(grabbed):
            problems.append(f"{codes.count('ok')} grabs answered ok, {len(grabbed)} shares taken")
        if (booked[0], int(booked[1])) != (len(grabbed), sum(r[2] for r in grabbed)):
            problems.append(f"grab transfers {tuple(booked)} differ from the taken shares")
        for (e, s), code in zip(plan.attempts, codes, strict=True):
            envelope_id, shopper_id = plan.envelope_ids[e], plan.shopper_ids[s]
            if code == "envelope_empty" and open_shares[envelope_id]:
                problems.append(f"{envelope_id}: refused empty but shares are still open")
            if code == "already_grabbed" and not holders[envelope_id][shopper_id]:
                problems.append(f"{envelope_id}: refused {shopper_id} who holds no share")
        return problems[:20]
