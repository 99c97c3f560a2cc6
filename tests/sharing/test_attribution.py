"""attribute_order / reverse_order / release at the service level (the checkout calls them)."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from kinsave.campaigns import service as campaigns
from kinsave.db import unit_of_work
from kinsave.jobs import release_referral_rewards
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from kinsave.sharing import opening
from kinsave.sharing.attribution import attribute_order, reverse_order
from kinsave.sharing.rewards import release_due_rewards
from kinsave.sharing.schemas import AttributionOut, ResolveIn
from tests.factories import link_shopper
from tests.sharing.factories import share, shop_with_campaign, shopper

BASE = "https://kinsave.test"
T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Shanghai
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
WEEK = timedelta(days=7)
REWARD = {"amount": 500, "hold_seconds": 7 * 86400, "daily_cap": 2}


def pay(
    factory: sessionmaker[Session],
    shop_id: str,
    order_id: str,
    buyer: str,
    handle: str | None,
    now: datetime,
    amount: int = 3000,
) -> AttributionOut | None:
    shopper(factory, buyer)
    with unit_of_work(factory) as session:
        return attribute_order(
            session,
            shop_id=shop_id,
            order_id=order_id,
            shopper_id=buyer,
            amount_paid=amount,
            attribution=handle,
            now=now,
        )


def refund(
    factory: sessionmaker[Session], shop_id: str, order_id: str, amount: int, now: datetime
) -> None:
    with unit_of_work(factory) as session:
        reverse_order(session, shop_id=shop_id, order_id=order_id, refunded_amount=amount, now=now)


def accept(
    factory: sessionmaker[Session], buyer: str, code: str, now: datetime, device: str | None = None
) -> None:
    shopper(factory, buyer)
    with unit_of_work(factory) as session:
        opening.accept_share(session, buyer, code, device_hash=device, now=now)


def money(
    factory: sessionmaker[Session], shop_id: str, campaign_id: str, sharer: str
) -> tuple[int, int, int]:
    """(budget remaining, reward hold, sharer wallet)."""
    with unit_of_work(factory) as session:
        return (
            campaigns.get_campaign(session, shop_id, campaign_id).budget_remaining,
            ledger.balance_of(session, AccountKind.REWARD_HOLD, campaign_id, shop_id),
            ledger.wallet_balance(session, sharer, shop_id),
        )


class TestWindow:
    def test_handle_inside_window_by_one_second(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        out = pay(session_factory, shop_id, "o1", "grandson", code, T0 + WEEK - SECOND)
        assert out is not None and out.sharer_id == "grandma" and out.reward_status == "held"
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_500, 500, 0)

    def test_handle_at_window_edge_counts(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        assert pay(session_factory, shop_id, "o1", "grandson", code, T0 + WEEK) is not None

    def test_handle_one_second_past_window_refused(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        assert pay(session_factory, shop_id, "o1", "grandson", code, T0 + WEEK + SECOND) is None
        assert money(session_factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)

    def test_pasted_text_is_a_handle(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        out = pay(session_factory, shop_id, "o1", "grandson", f"look ￥{code}￥ !", T0 + DAY)
        assert out is not None and out.share_code == code

    def test_window_runs_from_the_latest_open_of_the_handle(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(
            session_factory, referral=REWARD, window_seconds=3600
        )
        code = share(session_factory, "grandma", campaign_id, T0)
        with unit_of_work(session_factory) as session:
            opening.resolve_token(
                session, shop_id, ResolveIn(text=code.join("$$")), base_url=BASE, now=T0 + DAY
            )
        assert (
            pay(
                session_factory, shop_id, "o1", "grandson", code, T0 + DAY + timedelta(seconds=3601)
            )
            is None
        )
        assert (
            pay(
                session_factory, shop_id, "o2", "grandson", code, T0 + DAY + timedelta(seconds=3600)
            )
            is not None
        )

    def test_without_handle_earlier_touch_of_the_buyer_counts(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        accept(session_factory, "grandson", code, T0 + DAY)
        assert (
            pay(session_factory, shop_id, "o1", "grandson", None, T0 + DAY + WEEK + SECOND) is None
        )
        out = pay(session_factory, shop_id, "o2", "grandson", None, T0 + DAY + WEEK - SECOND)
        assert out is not None and out.share_code == code

    def test_other_shops_code_is_ignored(self, session_factory):
        _, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        other_shop, _ = shop_with_campaign(session_factory, shop="Other Shop", referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        assert pay(session_factory, other_shop, "o1", "grandson", code, T0 + DAY) is None


class TestModel:
    def two_touches(self, factory, model):
        shop_id, campaign_id = shop_with_campaign(factory, referral=REWARD, attribution_model=model)
        first = share(factory, "grandma", campaign_id, T0)
        second = share(factory, "auntie", campaign_id, T0)
        accept(factory, "grandson", first, T0 + DAY)
        accept(factory, "grandson", second, T0 + 2 * DAY)
        return shop_id, first, second

    def test_last_touch_by_default(self, session_factory):
        shop_id, _, second = self.two_touches(session_factory, "last_touch")
        out = pay(session_factory, shop_id, "o1", "grandson", None, T0 + 3 * DAY)
        assert out is not None and out.share_code == second and out.sharer_id == "auntie"

    def test_first_touch(self, session_factory):
        shop_id, first, second = self.two_touches(session_factory, "first_touch")
        out = pay(session_factory, shop_id, "o1", "grandson", second, T0 + 3 * DAY)
        assert out is not None and out.share_code == first and out.model == "first_touch"


class TestSelfReferral:
    def assert_refused(self, factory, shop_id, campaign_id, out):
        assert out is not None and out.reward_status == "none" and out.reason == "self_referral"
        assert money(factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)

    def test_same_shopper(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        out = pay(session_factory, shop_id, "o1", "grandma", code, T0 + DAY)
        self.assert_refused(session_factory, shop_id, campaign_id, out)

    def test_same_device(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0, device_hash="phone-1")
        accept(session_factory, "grandma-2nd-account", code, T0 + DAY, device="phone-1")
        out = pay(session_factory, shop_id, "o1", "grandma-2nd-account", code, T0 + DAY)
        self.assert_refused(session_factory, shop_id, campaign_id, out)

    def test_same_channel_identity(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0, channel_identity="tg:42")
        shopper(session_factory, "other-login")
        link_shopper(session_factory, shop_id, "other-login")
        with unit_of_work(session_factory) as session:
            body = ResolveIn(text=f"￥{code}￥", shopper_id="other-login", channel_identity="tg:42")
            opening.resolve_token(session, shop_id, body, base_url=BASE, now=T0 + DAY)
        out = pay(session_factory, shop_id, "o1", "other-login", code, T0 + DAY)
        self.assert_refused(session_factory, shop_id, campaign_id, out)


class TestReward:
    def test_repeat_report_books_once(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        first = pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        again = pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        assert first is not None and again is not None and again.reward_id == first.reward_id
        assert again == first  # the replay answers as the first report did
        assert (first.reward_status, first.reward_amount, first.reason) == ("held", 500, None)
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_500, 500, 0)

    def test_repeat_report_of_an_order_without_reward_says_so(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory)
        code = share(session_factory, "grandma", campaign_id, T0)
        first = pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        again = pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        assert first is not None and again is not None
        assert first.reason == "no_referral_reward"
        assert again == first.model_copy(update={"reason": "already_attributed"})
        assert (again.reward_id, again.reward_amount, again.reward_status) == (None, 0, "none")

    def test_no_rule_no_reward(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory)
        code = share(session_factory, "grandma", campaign_id, T0)
        out = pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        assert out is not None and out.reason == "no_referral_reward"
        assert money(session_factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)

    def test_budget_exhausted_moves_nothing(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, budget=499, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        out = pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        assert out is not None and out.reason == "budget_exhausted" and out.reward_id is None
        assert money(session_factory, shop_id, campaign_id, "grandma") == (499, 0, 0)

    def test_daily_cap_per_sharer_per_local_day(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        results = [
            pay(session_factory, shop_id, f"o{i}", f"kid{i}", code, T0 + i * SECOND)
            for i in range(3)
        ]
        assert [r.reason for r in results if r] == [None, None, "daily_cap"]
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_000, 1000, 0)
        # 16:00 UTC is midnight in Shanghai: a new local day, a fresh cap.
        out = pay(session_factory, shop_id, "o9", "kid9", code, T0 + 12 * 3600 * SECOND)
        assert out is not None and out.reward_status == "held"


class TestRefund:
    def held(self, factory):
        shop_id, campaign_id = shop_with_campaign(factory, referral=REWARD)
        code = share(factory, "grandma", campaign_id, T0)
        assert pay(factory, shop_id, "o1", "grandson", code, T0 + DAY) is not None
        return shop_id, campaign_id

    def test_full_refund_returns_the_held_reward(self, session_factory):
        shop_id, campaign_id = self.held(session_factory)
        refund(session_factory, shop_id, "o1", 3000, T0 + 2 * DAY)
        assert money(session_factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)
        with unit_of_work(session_factory) as session:
            assert release_due_rewards(session, T0 + 30 * DAY).released == 0
        assert money(session_factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)

    def test_partial_refunds_claw_back_proportionally(self, session_factory):
        shop_id, campaign_id = self.held(session_factory)
        refund(session_factory, shop_id, "o1", 1000, T0 + 2 * DAY)  # keeps 500*2000//3000 = 333
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_667, 333, 0)
        with unit_of_work(session_factory) as session:
            report = release_due_rewards(session, T0 + 9 * DAY)
        assert (report.released, report.paid_amount) == (1, 333)
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_667, 0, 333)
        refund(session_factory, shop_id, "o1", 2000, T0 + 10 * DAY)
        assert money(session_factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)

    def test_paid_reward_spent_is_clawed_back_as_far_as_it_goes(self, session_factory):
        shop_id, campaign_id = self.held(session_factory)
        with unit_of_work(session_factory) as session:
            release_due_rewards(session, T0 + 8 * DAY)
            ledger.transfer(
                session,
                from_account_id=ledger.wallet_account(session, "grandma", shop_id),
                to_account_id=ledger.open_account(
                    session, AccountKind.SHOP_REDEEMED, shop_id, shop_id
                ),
                amount=400,
                kind="test_spend",
                key="test-spend",
            )
        refund(session_factory, shop_id, "o1", 3000, T0 + 9 * DAY)
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_600, 0, 0)


class TestRelease:
    def test_not_before_the_hold_ends_then_exactly_once(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        pay(session_factory, shop_id, "o1", "grandson", code, T0)
        assert release_referral_rewards(session_factory, T0 + WEEK - SECOND).released == 0
        assert release_referral_rewards(session_factory, T0 + WEEK).paid_amount == 500
        assert release_referral_rewards(session_factory, T0 + WEEK).released == 0
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_500, 0, 500)

    def test_two_sweepers_pay_once(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(
            session_factory, referral={**REWARD, "daily_cap": 100}
        )
        code = share(session_factory, "grandma", campaign_id, T0)
        for i in range(6):
            pay(session_factory, shop_id, f"o{i}", f"kid{i}", code, T0)
        reports = []
        barrier = threading.Barrier(2)

        def sweep() -> None:
            barrier.wait()
            try:
                reports.append(release_referral_rewards(session_factory, T0 + WEEK))
            except Exception as error:  # noqa: BLE001 - a sweeper's failure fails the test
                reports.append(error)

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not [r for r in reports if isinstance(r, Exception)], reports
        assert sum(r.released for r in reports) == 6
        assert money(session_factory, shop_id, campaign_id, "grandma") == (97_000, 0, 3000)


class TestRaces:
    def race(self, count, target):
        barrier = threading.Barrier(count)
        results = []

        def run(i: int) -> None:
            barrier.wait()
            try:
                results.append(target(i))
            except Exception as error:  # noqa: BLE001 - a racing thread's failure fails the test
                results.append(error)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not [r for r in results if isinstance(r, Exception)], results
        return results

    def test_daily_cap_holds_under_concurrent_orders(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        for i in range(5):
            shopper(session_factory, f"kid{i}")
        results = self.race(
            5, lambda i: pay(session_factory, shop_id, f"o{i}", f"kid{i}", code, T0 + DAY)
        )
        assert sorted(r.reward_status for r in results) == ["held", "held", "none", "none", "none"]
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_000, 1000, 0)

    def test_same_order_reported_twice_at_once_books_once(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        shopper(session_factory, "grandson")
        results = self.race(
            3, lambda _: pay(session_factory, shop_id, "o1", "grandson", code, T0 + DAY)
        )
        assert len({r.reward_id for r in results}) == 1
        assert money(session_factory, shop_id, campaign_id, "grandma") == (99_500, 500, 0)

    def test_full_refund_racing_the_release_nets_to_nothing(self, session_factory):
        shop_id, campaign_id = shop_with_campaign(session_factory, referral=REWARD)
        code = share(session_factory, "grandma", campaign_id, T0)
        pay(session_factory, shop_id, "o1", "grandson", code, T0)
        self.race(
            2,
            lambda i: (
                release_referral_rewards(session_factory, T0 + WEEK)
                if i == 0
                else refund(session_factory, shop_id, "o1", 3000, T0 + WEEK)
            ),
        )
        assert money(session_factory, shop_id, campaign_id, "grandma") == (100_000, 0, 0)
