"""The checkout scenario at a tiny scale: its checks pass, and they catch what they should."""

import random

import pytest

from kinsave.bench import seed
from kinsave.bench.checkout import Checkout, CheckoutPlan
from kinsave.bench.context import SCALES, BenchContext
from kinsave.bench.runner import run
from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind


class TestCheckoutScenario:
    @pytest.mark.slow
    def test_invariants_hold_in_process_and_over_http(self, database_url):
        result = run(
            [database_url], ["checkout"], ["in-process", "http"], SCALES["tiny"], 1, _quiet
        )

        assert result.problems == []
        assert {(m.mode, m.variant) for m in result.measurements} == {
            ("in-process", "straightforward"),
            ("in-process", "kinsave"),
            ("http x1", "do-nothing"),
            ("http x1", "straightforward"),
            ("http x1", "kinsave"),
        }
        for measurement in result.measurements:
            assert measurement.outcomes == {"ok": measurement.attempts}


def _checked_out(
    settings, session_factory, database_url
) -> tuple[Checkout, BenchContext, CheckoutPlan]:
    """Every order of a tiny checkout run, in-process, one after the other."""
    ctx = BenchContext(
        settings, session_factory, database_url, seed.crowd(session_factory, 6), SCALES["tiny"]
    )
    ctx.rng = random.Random(7)
    scenario = Checkout()
    plan = scenario.prepare(ctx)
    call = scenario.inprocess_variants["kinsave"](ctx, plan)()
    codes = [call(order) for order in plan.orders]
    assert scenario.check(ctx, plan, codes) == []
    return scenario, ctx, plan


def _move(session_factory, source: int, target: int, key: str) -> None:
    with unit_of_work(session_factory) as session:
        ledger.transfer(
            session, from_account_id=source, to_account_id=target, amount=1, kind="test", key=key
        )


class TestChecksCatch:
    def test_a_planted_wrong_wallet(self, settings, session_factory, database_url):
        scenario, ctx, plan = _checked_out(settings, session_factory, database_url)
        shopper, shop = plan.seeded.shoppers[0], plan.seeded.shop_ids[1]
        with unit_of_work(session_factory) as session:  # one fen more than the answers say
            funding = ledger.open_account(session, AccountKind.SHOP_FUNDING, shop, shop)
            wallet = ledger.wallet_account(session, shopper, shop)
        _move(session_factory, funding, wallet, "planted")

        problems = scenario.check(ctx, plan, ["ok"] * len(plan.orders))

        assert [p for p in problems if p.startswith(f"wallet of {shopper} ")] != []
        assert all(shopper in p for p in problems)

    def test_credit_redeemed_without_an_order(self, settings, session_factory, database_url):
        # Credit crossing shops is refused by the ledger's keys (tests/ledger); what the checks
        # must still catch is a shop redeeming credit that no answer spent.
        scenario, ctx, plan = _checked_out(settings, session_factory, database_url)
        shopper = plan.seeded.shoppers[1]
        with unit_of_work(session_factory) as session:
            shop = next(  # a shop where the shopper still holds credit
                s for s in plan.seeded.shop_ids if ledger.wallet_balance(session, shopper, s) > 0
            )
            wallet = ledger.wallet_account(session, shopper, shop)
            redeemed = ledger.open_account(session, AccountKind.SHOP_REDEEMED, shop, shop)
        _move(session_factory, wallet, redeemed, "unspent")

        problems = scenario.check(ctx, plan, ["ok"] * len(plan.orders))

        assert any(p.startswith(f"shop {shop} redeemed") for p in problems)
        assert any(p.startswith(f"wallet of {shopper} ") for p in problems)

    def test_a_coupon_in_two_orders(self, settings, session_factory, database_url):
        scenario, ctx, plan = _checked_out(settings, session_factory, database_url)
        with_coupons = [o for o in plan.orders if o.answers["reserve"]["coupons"]]
        first = with_coupons[0]
        other = next(o for o in plan.orders if o.shop == first.shop and o is not first)
        coupon = first.answers["reserve"]["coupons"][0]
        for step in ("quote2", "reserve"):
            other.answers[step]["coupons"] = [*other.answers[step]["coupons"], coupon]

        problems = scenario.check(ctx, plan, ["ok"] * len(plan.orders))

        assert any(p.startswith(f"coupon {coupon} in orders") for p in problems)

    def test_a_reserve_that_differs_from_its_quote(self, settings, session_factory, database_url):
        scenario, ctx, plan = _checked_out(settings, session_factory, database_url)
        order = plan.orders[0]
        order.answers["quote2"]["total_to_pay"] += 1

        problems = scenario.check(ctx, plan, ["ok"] * len(plan.orders))

        assert any("reserved total_to_pay" in p and order.order_id in p for p in problems)


def _quiet(*_args: object) -> None:
    pass
