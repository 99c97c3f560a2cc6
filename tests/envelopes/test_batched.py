"""Grabs and daily claims committed in batches: every item gets its own exact answer.

A batch is one transaction (on PostgreSQL one pipelined round trip); a refused item must leave
nothing written, and a batch that fails as a whole reruns each item alone.
"""

import asyncio
import gc
import threading
import time
import weakref
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.auth.models import Shopper
from kinsave.batch_outcomes import RETRY_LATER, RUN_ALONE, RetryLater, RunAlone
from kinsave.batcher import Batcher
from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import daily, grabs
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.daily import DailyRequest
from kinsave.envelopes.grabs import GrabRequest
from kinsave.envelopes.models import DailyClaim, EnvelopeShare
from kinsave.envelopes.schemas import DailyClaimOut, GrabOut
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Transfer
from tests.factories import (
    create_campaign,
    funded_shopper,
    login,
    outcome_codes,
    shop_key,
    wallet_balance,
)


@pytest.fixture
def operator(session_factory):
    return shop_key(session_factory)


def _shop_of(session: Session, envelope_id: str) -> str:
    return envelopes.envelope_view(session, envelope_id, viewer=None).shop_id


def _signed_in_with_wallets(api, session_factory, shop_id: str, names: Sequence[str]) -> None:
    """Shoppers who already hold credit of this shop (the storm paths' fast case)."""
    for name in names:
        login(api, name)
    with unit_of_work(session_factory) as session:
        for name in names:
            ledger.wallet_account(session, name, shop_id)


def _shopper_without_wallet(session_factory, shopper_id: str) -> None:
    # A shopper's wallet at a shop opens with their first credit of that shop.
    with unit_of_work(session_factory) as session:
        session.add(Shopper(id=shopper_id, display_name=shopper_id, created_at=utcnow()))


def _grab_alone(session: Session, request: GrabRequest) -> GrabOut | KinsaveError:
    try:
        return grabs.grab_alone(session, request)
    except KinsaveError as refusal:
        return refusal


def _envelope(api, operator, shares: int) -> str:
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 10_000)
    body = {"total": 100 * shares, "shares": shares, "kind": "equal"}
    response = api.post("/v1/envelopes", json=body, headers=grandma)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestGrabBatch:
    def test_each_grab_in_one_batch_gets_its_own_answer(self, api, operator, session_factory):
        envelope_id = _envelope(api, operator, shares=2)
        with unit_of_work(session_factory) as session:
            shop_id = _shop_of(session, envelope_id)
        _signed_in_with_wallets(api, session_factory, shop_id, ["aunt", "uncle", "cousin"])
        batch = [
            GrabRequest(envelope_id, "aunt"),
            GrabRequest(envelope_id, "aunt"),  # a second tap inside the same batch
            GrabRequest("env_missing", "uncle"),
            GrabRequest(envelope_id, "uncle"),
            GrabRequest(envelope_id, "cousin"),  # both shares are gone by now
        ]
        with unit_of_work(session_factory) as session:
            outcomes = grabs.book_grabs(session, batch)
        assert outcome_codes(outcomes) == [
            "ok",
            "already_grabbed",
            "not_found",
            "ok",
            "envelope_empty",
        ]
        grabbed = [o for o in outcomes if isinstance(o, GrabOut)]
        assert sorted(g.seq for g in grabbed) == [1, 2]
        with unit_of_work(session_factory) as session:
            holders = session.execute(
                select(EnvelopeShare.grabbed_by).where(EnvelopeShare.envelope_id == envelope_id)
            ).scalars()
            assert sorted(holders) == ["aunt", "uncle"]
            assert ledger.reconcile(session).clean

    def test_a_shopper_without_a_wallet_is_served(self, api, operator, session_factory):
        envelope_id = _envelope(api, operator, shares=3)
        _shopper_without_wallet(session_factory, "newcomer")
        batch = [GrabRequest(envelope_id, "grandma"), GrabRequest(envelope_id, "newcomer")]
        with unit_of_work(session_factory) as session:
            grandma, newcomer = grabs.book_grabs(session, batch)
        assert isinstance(grandma, GrabOut)
        assert isinstance(newcomer, GrabOut)  # the ledger opened their wallet in the batch
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "newcomer", _shop_of(session, envelope_id)) > 0

    def test_a_batch_never_waits_for_shares_another_transaction_holds(
        self, api, operator, session_factory, database_url
    ):
        if not database_url.startswith("postgresql"):
            pytest.skip("SQLite has one writer: no other transaction can hold a share")
        envelope_id = _envelope(api, operator, shares=1)
        with unit_of_work(session_factory) as session:
            shop_id = _shop_of(session, envelope_id)
        _signed_in_with_wallets(api, session_factory, shop_id, ["aunt", "uncle"])
        batch = [GrabRequest(envelope_id, "aunt"), GrabRequest(envelope_id, "uncle")]
        with unit_of_work(session_factory) as holder:  # another grab in flight holds the share
            holder.execute(
                select(EnvelopeShare.id)
                .where(EnvelopeShare.envelope_id == envelope_id)
                .with_for_update()
            ).all()
            with unit_of_work(session_factory) as session:
                outcomes = grabs.book_grabs(session, batch)
        # tried again in a later batch, answered envelope_busy if it stays held too long
        assert all(isinstance(o, RetryLater) for o in outcomes)
        assert {o.give_up().code for o in outcomes if isinstance(o, RetryLater)} == {
            "envelope_busy"
        }
        with unit_of_work(session_factory) as session:
            alone = [_grab_alone(session, request) for request in batch]
        assert outcome_codes(alone) == ["ok", "envelope_empty"]

    def test_grabs_over_http_come_back_batched_and_exact(self, api, operator, session_factory):
        envelope_id = _envelope(api, operator, shares=3)
        relatives = [login(api, f"relative{i}") for i in range(5)]
        answers = [api.post(f"/v1/envelopes/{envelope_id}/grab", headers=r) for r in relatives]
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 409, 409]
        assert sum(wallet_balance(api, r) for r in relatives) == 300


class TestDailyBatch:
    def test_each_claim_in_one_batch_gets_its_own_answer(self, api, operator, session_factory):
        rule = {"kind": "uniform", "min": 100, "max": 100}
        campaign = create_campaign(api, operator, budget=200, daily_rule=rule)
        _signed_in_with_wallets(
            api, session_factory, campaign["shop_id"], ["aunt", "uncle", "cousin"]
        )
        batch = [
            DailyRequest(campaign["id"], "aunt"),
            DailyRequest(campaign["id"], "aunt"),
            DailyRequest("cmp_missing", "uncle"),
            DailyRequest(campaign["id"], "uncle"),
            DailyRequest(campaign["id"], "cousin"),  # the budget is spent by now
        ]
        with unit_of_work(session_factory) as session:
            outcomes = daily.book_daily_claims(session, batch)
        assert outcome_codes(outcomes) == [
            "ok",
            "already_claimed_today",
            "not_found",
            "ok",
            "budget_exhausted",
        ]
        assert all(o.amount == 100 for o in outcomes if isinstance(o, DailyClaimOut))
        with unit_of_work(session_factory) as session:
            claims = session.execute(
                select(func.count()).where(DailyClaim.campaign_id == campaign["id"])
            ).scalar_one()
            paid = session.execute(
                select(func.sum(Transfer.amount)).where(Transfer.kind == "daily_claim")
            ).scalar_one()
            assert (claims, paid) == (2, 200)
            assert ledger.reconcile(session).clean

    def test_a_claim_for_a_shopper_without_a_wallet_opens_one(self, api, operator, session_factory):
        rule = {"kind": "uniform", "min": 50, "max": 50}
        campaign = create_campaign(api, operator, budget=1_000, daily_rule=rule)
        _shopper_without_wallet(session_factory, "newcomer")
        with unit_of_work(session_factory) as session:
            outcome = daily.claim_daily(session, campaign["id"], "newcomer")
        assert outcome.amount == 50
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "newcomer", campaign["shop_id"]) == 50


class TestBatcher:
    def test_keys_taking_turns_get_a_lane_each_and_keep_it(self, session_factory):
        # Two keys that crc32 puts on one lane of two (the checkout's two busy shops, say).
        keys = next(
            (a, b)
            for a, b in ((f"shop-{i}", f"shop-{i + 1}") for i in range(100))
            if zlib.crc32(a.encode()) % 2 == zlib.crc32(b.encode()) % 2
        )
        threads: dict[str, set[int]] = {key: set() for key in keys}

        def run_batch(session: Session, items: Sequence[str]) -> list[str | KinsaveError]:
            for key in items:
                threads[key].add(threading.get_ident())
            return list(items)

        batcher: Batcher[str, str] = Batcher(
            session_factory, run_batch, lanes=2, keys_take_turns=True
        )
        try:
            for _ in range(3):
                for key in keys:
                    assert batcher.run(key, order_key=key) == key
        finally:
            batcher.stop()
        first, second = (threads[key] for key in keys)
        assert len(first) == 1 and len(second) == 1 and first != second

    def test_a_failed_batch_reruns_each_item_alone(self, session_factory):
        first_batch_running, release_first = threading.Event(), threading.Event()
        sizes: list[int] = []

        def run_batch(session: Session, items: Sequence[int]) -> list[int | KinsaveError]:
            sizes.append(len(items))
            if items[0] == 0:  # hold the lane so that the next items queue into one batch
                first_batch_running.set()
                release_first.wait(10)
            if len(items) > 1:
                raise RuntimeError("the shared transaction is lost")
            return [KinsaveError("not_found", "odd") if items[0] % 2 else items[0] * 10]

        batcher: Batcher[int, int] = Batcher(session_factory, run_batch, lanes=1)
        answers: dict[int, object] = {}

        def submit(item: int) -> None:
            try:
                answers[item] = batcher.run(item)
            except KinsaveError as refusal:
                answers[item] = refusal.code

        threads = [threading.Thread(target=submit, args=(0,))]
        threads[0].start()
        try:
            assert first_batch_running.wait(10)
            threads += [threading.Thread(target=submit, args=(i,)) for i in (1, 2, 3, 4)]
            for thread in threads[1:]:
                thread.start()
            time.sleep(0.5)  # let them queue behind the held batch
            release_first.set()
            for thread in threads:
                thread.join(10)
        finally:
            batcher.stop()
        assert answers == {0: 0, 1: "not_found", 2: 20, 3: "not_found", 4: 40}
        assert sizes[0] == 1 and max(sizes[1:]) > 1  # a shared batch failed ...
        assert sum(size == 1 for size in sizes[1:]) >= 4  # ... and its items ran alone

    def test_on_an_event_loop_a_batch_is_answered_before_its_items_run_alone(self, session_factory):
        # A handler awaits `submit`. The committed answers of a batch reach the loop at once; an
        # item the batch function sends to run alone (held here until the others are answered)
        # delays nobody else's answer.
        release_slow = threading.Event()

        def run_batch(session: Session, items: Sequence[int]) -> list[int | RunAlone]:
            if len(items) == 1 and items[0] == 0:  # item 0, run alone
                assert release_slow.wait(10)
                return [0]
            return [RUN_ALONE if item == 0 else item * 10 for item in items]

        batcher: Batcher[int, int] = Batcher(session_factory, run_batch, lanes=1)

        async def storm() -> list[int]:
            futures = [batcher.submit(item) for item in range(5)]
            others = await asyncio.wait_for(asyncio.gather(*futures[1:]), timeout=5)
            release_slow.set()
            return [await futures[0], *others]

        try:
            # A thread of its own: an earlier test (the browser's sync API) may leave an event
            # loop running in this one.
            with ThreadPoolExecutor(max_workers=1) as pool:
                assert pool.submit(asyncio.run, storm()).result(timeout=20) == [0, 10, 20, 30, 40]
        finally:
            release_slow.set()
            batcher.stop()

    def test_an_item_that_must_wait_comes_back_later_and_the_lane_goes_on(self, session_factory):
        # Item 0 would have to wait for another transaction until `holder_done`: the lane puts it
        # back and serves item 1 meanwhile; item 0 is answered once it can be settled.
        holder_done = threading.Event()
        tries: list[int] = []

        def run_batch(session: Session, items: Sequence[int]) -> list[int | RetryLater]:
            tries.extend(items)
            return [
                RETRY_LATER if item == 0 and not holder_done.is_set() else item for item in items
            ]

        batcher: Batcher[int, int] = Batcher(session_factory, run_batch, lanes=1)
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                waiting = pool.submit(batcher.run, 0)
                while tries.count(0) < 2:  # tried, put back, tried again
                    time.sleep(0.001)
                assert batcher.run(1) == 1 and not waiting.done()
                holder_done.set()
                assert waiting.result(timeout=10) == 0
        finally:
            batcher.stop()

    def test_an_item_that_waits_too_long_is_answered_busy(self, session_factory):
        def run_batch(session: Session, items: Sequence[int]) -> list[RetryLater]:
            return [RETRY_LATER for _ in items]

        batcher: Batcher[int, int] = Batcher(
            session_factory, run_batch, lanes=1, retry_seconds=0.05
        )
        try:
            with pytest.raises(KinsaveError) as refused:
                batcher.run(7)
        finally:
            batcher.stop()
        assert refused.value.code == "service_unavailable"


class TestStormPathsCreditTheRightShop:
    """A batch mixing two shops' envelopes and campaigns pays each into that shop's wallet."""

    def test_a_grab_batch_pays_each_envelope_as_its_shops_credit(
        self, api, operator, session_factory
    ):
        market_envelope = _envelope(api, operator, shares=2)
        bakery = shop_key(session_factory, "Corner Bakery")
        campaign = create_campaign(api, bakery)
        auntie = funded_shopper(api, bakery, campaign["id"], "auntie", 1000)
        body = {"total": 600, "shares": 2, "kind": "equal"}
        sent = api.post("/v1/envelopes", json=body, headers=auntie)
        assert sent.status_code == 201, sent.text
        bakery_envelope = sent.json()["id"]
        with unit_of_work(session_factory) as session:
            market_id = _shop_of(session, market_envelope)
        _signed_in_with_wallets(api, session_factory, market_id, ["aunt", "uncle"])
        _signed_in_with_wallets(api, session_factory, campaign["shop_id"], ["aunt"])
        batch = [  # uncle has no bakery wallet yet: his bakery grab opens one
            GrabRequest(market_envelope, "aunt"),
            GrabRequest(bakery_envelope, "aunt"),
            GrabRequest(bakery_envelope, "uncle"),
            GrabRequest(market_envelope, "uncle"),
        ]
        with unit_of_work(session_factory) as session:
            outcomes = grabs.book_grabs(session, batch)
        assert outcome_codes(outcomes) == ["ok"] * 4
        with unit_of_work(session_factory) as session:
            for shopper in ("aunt", "uncle"):
                assert ledger.wallet_balance(session, shopper, market_id) == 100
                assert ledger.wallet_balance(session, shopper, campaign["shop_id"]) == 300
            report = ledger.reconcile(session)
        assert report.clean, report

    def test_a_daily_batch_pays_each_campaigns_shop(self, api, operator, session_factory):
        market = create_campaign(
            api, operator, daily_rule={"kind": "uniform", "min": 100, "max": 100}
        )
        bakery = create_campaign(
            api,
            shop_key(session_factory, "Corner Bakery"),
            daily_rule={"kind": "uniform", "min": 70, "max": 70},
        )
        _signed_in_with_wallets(api, session_factory, market["shop_id"], ["aunt", "uncle"])
        _signed_in_with_wallets(api, session_factory, bakery["shop_id"], ["aunt"])
        batch = [
            DailyRequest(market["id"], "aunt"),
            DailyRequest(bakery["id"], "aunt"),
            DailyRequest(bakery["id"], "uncle"),  # no bakery wallet yet: opens one
            DailyRequest(market["id"], "uncle"),
        ]
        with unit_of_work(session_factory) as session:
            outcomes = daily.book_daily_claims(session, batch)
        assert outcome_codes(outcomes) == ["ok"] * 4
        with unit_of_work(session_factory) as session:
            for shopper in ("aunt", "uncle"):
                assert ledger.wallet_balance(session, shopper, market["shop_id"]) == 100
                assert ledger.wallet_balance(session, shopper, bakery["shop_id"]) == 70
            report = ledger.reconcile(session)
        assert report.clean, report


class _RefusingGate:
    """A gate whose front door refuses every item (the storm's usual answer)."""

    async def front(self, item: object) -> KinsaveError:
        return KinsaveError("envelope_empty", "every share of this envelope has been grabbed")


def test_a_front_door_refusal_is_freed_without_the_garbage_collector(session_factory):
    # A refusal raised by `Batcher.answer` must not sit in a reference cycle (its traceback's
    # frame holding it): each one would then wait, with every object the request's frames hold,
    # for the collector, whose passes cost a storm's refusals ~10 us each (docs/benchmarks.md,
    # "The refusal's extra over HTTP, session 10").
    batcher = Batcher(session_factory, grabs.book_grabs, gate=_RefusingGate(), name="test-freed")

    async def refused() -> tuple[str, weakref.ref[KinsaveError]]:
        try:
            await batcher.answer(GrabRequest("env_x", "someone"), order_key="env_x")
        except KinsaveError as refusal:
            return refusal.code, weakref.ref(refusal)
        raise AssertionError("not refused")

    gc.disable()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            code, freed = pool.submit(asyncio.run, refused()).result(timeout=10)
        assert code == "envelope_empty"
        assert freed() is None
    finally:
        gc.enable()
        batcher.stop()
