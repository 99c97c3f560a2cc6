"""The bench's checks catch a wrong wallet and a storm answered 503: they fail the run.

A deliberately wrong path: grabs booked correctly, then one shopper's credit moved to another
shopper's wallet with every row kept consistent (the transfer's account and both balances
changed together): counts, sums, reconcile and the escrow checks all still pass; the per-shopper
checks do not.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from kinsave.bench import seed
from kinsave.bench.checks import answer_problems
from kinsave.bench.context import SCALES, BenchContext
from kinsave.bench.daily_rush import DailyRush
from kinsave.bench.grab_storm import ANSWERS, GrabStorm
from kinsave.bench.runner import bench_settings, prepare, reconcile_problems
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.envelopes import daily, grabs
from kinsave.errors import KinsaveError
from kinsave.ledger.models import Account, Transfer
from kinsave.migrate import upgrade_to_head


@pytest.fixture
def ctx(database_url: str) -> Iterator[BenchContext]:
    scale = SCALES["tiny"]
    settings = bench_settings(database_url, scale, redis=None)
    upgrade_to_head(settings)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    yield BenchContext(settings, factory, database_url, seed.crowd(factory, scale.shoppers), scale)
    engine.dispose()


def _run(ctx: BenchContext, items, operation) -> tuple[list[str], list[int | None]]:
    codes: list[str] = []
    amounts: list[int | None] = []
    for item in items:
        try:
            with unit_of_work(ctx.session_factory) as session:
                amounts.append(operation(session, *item).amount)
            codes.append("ok")
        except KinsaveError as refusal:
            codes.append(refusal.code)
            amounts.append(None)
    return codes, amounts


def _credit_the_wrong_shopper(ctx: BenchContext, kind: str, keys: tuple[str, str]) -> None:
    """Move the first transfer's credit to the second transfer's wallet, rows kept consistent."""
    with unit_of_work(ctx.session_factory) as session:
        first, second = (
            session.execute(
                select(Transfer.id, Transfer.to_account_id, Transfer.amount).where(
                    Transfer.kind == kind, Transfer.idempotency_key == key
                )
            ).one()
            for key in keys
        )
        session.execute(
            update(Transfer).where(Transfer.id == first.id).values(to_account_id=second[1])
        )
        session.execute(
            update(Account)
            .where(Account.id == first[1])
            .values(balance=Account.balance - first.amount)
        )
        session.execute(
            update(Account)
            .where(Account.id == second[1])
            .values(balance=Account.balance + first.amount)
        )


class TestAWrongWallet:
    def test_a_grab_credited_to_another_shopper_fails_the_checks(self, ctx):
        scenario = GrabStorm()
        plan = prepare(ctx, scenario)
        codes, plan.amounts = _run(ctx, plan.items(), grabs.grab_share)
        assert scenario.check(ctx, plan, codes) == []  # the right path passes

        shares = [i for i, code in enumerate(codes) if code == "ok"][:2]
        keys = []
        with unit_of_work(ctx.session_factory) as session:
            for index in shares:
                envelope_id, shopper_id = plan.items()[index]
                keys.append(
                    session.execute(
                        select(Transfer.idempotency_key)
                        .join(Account, Account.id == Transfer.to_account_id)
                        .where(Transfer.reference == envelope_id, Account.owner_id == shopper_id)
                    ).scalar_one()
                )
        _credit_the_wrong_shopper(ctx, "envelope_grab", (keys[0], keys[1]))

        assert reconcile_problems(ctx.session_factory) == []  # the ledger agrees with itself
        problems = scenario.check(ctx, plan, codes)
        assert any("credited wallet" in problem for problem in problems), problems
        assert any("in all, their wallet got" in problem for problem in problems), problems

    def test_a_daily_claim_credited_to_another_shopper_fails_the_checks(self, ctx):
        scenario = DailyRush()
        plan = prepare(ctx, scenario)
        codes, plan.amounts = _run(ctx, plan.items(), daily.claim_daily)
        assert scenario.check(ctx, plan, codes) == []

        with unit_of_work(ctx.session_factory) as session:
            keys = session.execute(
                select(Transfer.idempotency_key)
                .where(Transfer.kind == "daily_claim", Transfer.reference == plan.campaign_id)
                .order_by(Transfer.id)
                .limit(2)
            ).scalars()
            first, second = list(keys)
        _credit_the_wrong_shopper(ctx, "daily_claim", (first, second))

        assert reconcile_problems(ctx.session_factory) == []
        assert any("credited wallet" in p for p in scenario.check(ctx, plan, codes))

    def test_an_ok_answer_with_the_wrong_amount_fails_the_checks(self, ctx):
        scenario = GrabStorm()
        plan = prepare(ctx, scenario)
        codes, amounts = _run(ctx, plan.items(), grabs.grab_share)
        first_ok = codes.index("ok")
        amounts[first_ok] = (amounts[first_ok] or 0) + 1
        plan.amounts = amounts

        assert any("was told" in p for p in scenario.check(ctx, plan, codes))


class TestUnexpectedAnswers:
    def test_a_storm_answered_503_throughout_fails(self, ctx):
        scenario = GrabStorm()
        plan = prepare(ctx, scenario)
        codes = ["service_unavailable"] * len(plan.attempts)

        for variant in ("kinsave", "straightforward", "database limit"):
            problems = answer_problems(codes, ANSWERS, variant)
            assert any("unexpected answer 'service_unavailable'" in p for p in problems)
            assert "no attempt was answered ok" in problems
        assert scenario.check(ctx, plan, codes) != []  # and no envelope ran out

    def test_a_rare_deadlock_victim_is_tolerated_in_a_baseline_only(self):
        codes = ["ok"] * 150 + ["envelope_empty"] * 49 + ["service_unavailable"]

        assert answer_problems(codes, ANSWERS, "straightforward") == []
        assert answer_problems(codes, ANSWERS, "kinsave") != []
