"""The gates answer storm refusals before the database, and never one the database would not.

Every test runs on both databases and on both stores (process memory, Redis). The taps go
through a real Batcher with the gate, as the storm endpoints send them.
"""

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import CampaignIn
from kinsave.coupons import service as coupons
from kinsave.coupons.claims import ClaimRequest
from kinsave.coupons.schemas import TemplateIn
from kinsave.db import unit_of_work
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.daily import DailyRequest
from kinsave.envelopes.daily_rule import UniformRule
from kinsave.envelopes.grabs import GrabRequest
from kinsave.envelopes.models import EnvelopeShare
from kinsave.envelopes.schemas import EnvelopeIn
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from tests.gates.conftest import codes, shoppers_with_wallets


class Shop:
    def __init__(self, session_factory: sessionmaker[Session], settings: Any) -> None:
        self.session_factory = session_factory
        self.settings = settings
        with unit_of_work(session_factory) as session:
            self.shop_id = auth.ensure_shop(session, "Gate Shop").id
            self.campaign_id = campaigns.create_campaign(
                session, self.shop_id, CampaignIn(name="Holiday", budget=10_000_000)
            ).id

    def envelope(self, shares: int) -> str:
        with unit_of_work(self.session_factory) as session:
            data = EnvelopeIn(total=10 * shares, shares=shares, kind="lucky")
            return envelopes.create_campaign_envelope(
                session, self.settings, self.shop_id, self.campaign_id, data
            ).id

    def daily(self, budget: int, low: int, high: int) -> str:
        rule = UniformRule(min=low, max=high)
        with unit_of_work(self.session_factory) as session:
            data = CampaignIn(name="Daily", budget=budget, daily_rule=rule)
            return campaigns.create_campaign(session, self.shop_id, data).id

    def template(self, stock: int, limit: int = 1) -> str:
        with unit_of_work(self.session_factory) as session:
            data = TemplateIn(
                name="Y10",
                kind="amount_off",
                amount=10,
                valid_days=30,
                stock=stock,
                per_shopper_limit=limit,
            )
            return coupons.create_template(session, self.shop_id, data).id

    def open_shares(self, envelope_id: str) -> int:
        with unit_of_work(self.session_factory) as session:
            return int(
                session.execute(
                    select(func.count()).where(
                        EnvelopeShare.envelope_id == envelope_id,
                        EnvelopeShare.grabbed_by.is_(None),
                    )
                ).scalar_one()
            )


@pytest.fixture
def shop(session_factory, settings) -> Shop:
    return Shop(session_factory, settings)


def _checkouts(engine: Any) -> list[int]:
    counted = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    event.listen(engine, "checkout", count)
    return counted


class TestGrabGate:
    def test_refuses_exactly_what_the_database_refuses(self, shop, store, taps_for):
        gated, plain = taps_for(store.gates()), taps_for(None)
        names = [f"s{i}" for i in range(12)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        gated_id, plain_id = shop.envelope(5), shop.envelope(5)
        rng = random.Random(7)
        order = [rng.choice(names) for _ in range(40)]
        answers = [
            (
                codes([gated.tap("grab", GrabRequest(gated_id, s))]),
                codes([plain.tap("grab", GrabRequest(plain_id, s))]),
            )
            for s in order
        ]
        assert all(g == p for g, p in answers), answers
        assert {a[0][0] for a in answers} == {"ok", "already_grabbed", "envelope_empty"}

    def test_a_storm_of_500_taps_on_100_shares(self, shop, store, taps_for):
        gates = store.gates()
        taps = taps_for(gates)
        names = [f"t{i}" for i in range(500)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        envelope_id = shop.envelope(100)
        with ThreadPoolExecutor(64) as pool:
            outcomes = list(
                pool.map(
                    lambda s: taps.tap("grab", GrabRequest(envelope_id, s), envelope_id), names
                )
            )
        got = codes(outcomes)
        assert got.count("ok") == 100 and got.count("envelope_empty") == 400, set(got)
        assert shop.open_shares(envelope_id) == 0  # no refusal while a share was open
        engine = shop.session_factory.kw["bind"]
        counted = _checkouts(engine)
        late = [taps.tap("grab", GrabRequest(envelope_id, s), envelope_id) for s in names[:50]]
        assert set(codes(late)) <= {"already_grabbed", "envelope_empty"}
        assert counted[0] == 0  # refused without a pooled connection

    def test_two_processes_sharing_the_store_stay_exact(self, shop, store, taps_for):
        first, second = taps_for(store.gates()), taps_for(store.gates())
        names = [f"u{i}" for i in range(120)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        envelope_id = shop.envelope(30)

        def tap(i_name: tuple[int, str]) -> Any:
            taps = first if i_name[0] % 2 else second
            return taps.tap("grab", GrabRequest(envelope_id, i_name[1]), envelope_id)

        with ThreadPoolExecutor(32) as pool:
            got = codes(list(pool.map(tap, enumerate(names + names[:40]))))
        assert got.count("ok") == 30
        assert set(got) <= {"ok", "envelope_empty", "already_grabbed"}
        assert shop.open_shares(envelope_id) == 0

    def test_rebuilds_after_a_flush(self, shop, store, taps_for):
        taps = taps_for(store.gates())
        names = [f"v{i}" for i in range(8)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        envelope_id = shop.envelope(4)
        first = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names[:3]])
        store.flush()  # Redis FLUSHALL / restart: every count gone
        again = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names])
        assert first == ["ok"] * 3
        assert again == ["already_grabbed"] * 3 + ["ok"] + ["envelope_empty"] * 4
        assert shop.open_shares(envelope_id) == 0


class TestDailyGate:
    def test_refuses_exactly_what_the_database_refuses(self, shop, store, taps_for):
        gated, plain = taps_for(store.gates()), taps_for(None)
        names = [f"d{i}" for i in range(30)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        # 88 per claim, budget for 5: the sixth and later claims are refused.
        gated_id, plain_id = shop.daily(5 * 88 + 10, 88, 88), shop.daily(5 * 88 + 10, 88, 88)
        order = names[:8] + names[:3] + names[8:12]
        got = [codes([gated.tap("daily", DailyRequest(gated_id, s))])[0] for s in order]
        want = [codes([plain.tap("daily", DailyRequest(plain_id, s))])[0] for s in order]
        assert got == want
        assert got.count("ok") == 5 and "budget_exhausted" in got and "already_claimed_today" in got

    def test_a_top_up_reopens_the_gate(self, shop, store, taps_for):
        taps = taps_for(store.gates())
        names = [f"e{i}" for i in range(4)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        campaign_id = shop.daily(100, 60, 80)
        got = codes([taps.tap("daily", DailyRequest(campaign_id, s)) for s in names[:3]])
        assert got[0] == "ok" and got[1:] == ["budget_exhausted"] * 2
        with unit_of_work(shop.session_factory) as session:
            campaigns.add_budget(session, shop.shop_id, campaign_id, 1000)
        assert codes([taps.tap("daily", DailyRequest(campaign_id, names[3]))]) == ["ok"]

    def test_budget_never_overdraws_in_a_rush(self, shop, store, taps_for):
        first, second = taps_for(store.gates()), taps_for(store.gates())
        names = [f"f{i}" for i in range(200)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        campaign_id = shop.daily(3000, 10, 50)

        def tap(i_name: tuple[int, str]) -> Any:
            taps = first if i_name[0] % 2 else second
            return taps.tap("daily", DailyRequest(campaign_id, i_name[1]), campaign_id)

        with ThreadPoolExecutor(32) as pool:
            outcomes = list(pool.map(tap, enumerate(names)))
        paid = sum(o.amount for o in outcomes if not isinstance(o, KinsaveError))
        with unit_of_work(shop.session_factory) as session:
            budget = campaigns.daily_terms(session, campaign_id, None or _now()).budget_account_id
            left = ledger.balance(session, budget)
        assert paid + left == 3000 and left < 50
        if "budget_exhausted" in codes(outcomes):
            assert left < 50  # every refusal: the budget could not pay the largest draw


def _now() -> Any:
    from kinsave.db import utcnow

    return utcnow()


class TestCouponGate:
    def test_sold_out_and_limit_refused_before_the_database(self, shop, store, taps_for):
        taps = taps_for(store.gates())
        names = [f"c{i}" for i in range(10)]
        shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
        template_id = shop.template(stock=4, limit=2)
        order = [names[0], names[0], names[0], names[1], names[1], names[2], names[3]]
        got = codes([taps.tap("coupon", ClaimRequest(template_id, s)) for s in order])
        assert got == [
            "ok",
            "ok",
            "coupon_limit_reached",
            "ok",
            "ok",
            "coupon_sold_out",
            "coupon_sold_out",
        ]
        counted = _checkouts(shop.session_factory.kw["bind"])
        late = codes([taps.tap("coupon", ClaimRequest(template_id, s)) for s in names[4:]])
        assert set(late) == {"coupon_sold_out"} and counted[0] == 0
