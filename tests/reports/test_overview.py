"""The overview's pure sums: how each ledger flow is booked, the remaining budget per day, the
windows and return on spend, the chart's scale."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from kinsave.ledger.totals import SHOP_ENVELOPE_ESCROW, DayFlow
from kinsave.reports import overview
from kinsave.reports.overview import DayTotals


def booked(*flows: DayFlow) -> DayTotals:
    totals = DayTotals(day=date(2026, 12, 6))
    for flow in flows:
        overview.add_flow(totals, flow)
    return totals


def flow(kind: str, source: str, destination: str, amount: int, count: int = 1) -> DayFlow:
    return DayFlow(0, kind, source, destination, count, amount)


class TestAddFlow:
    def test_funding_moves_the_budget_but_is_not_burn(self):
        totals = booked(flow("campaign_funding", "shop_funding", "campaign_budget", 500_000))
        assert (totals.budget_change, totals.budget_burn, totals.credit_issued) == (500_000, 0, 0)

    def test_daily_claims_burn_the_budget_issue_credit_and_count(self):
        totals = booked(flow("daily_claim", "campaign_budget", "wallet", 880, count=10))
        assert (totals.budget_burn, totals.credit_issued, totals.claims) == (880, 880, 10)
        assert totals.budget_change == -880

    def test_a_shop_envelope_burns_when_funded_and_issues_when_grabbed(self):
        totals = booked(
            flow("envelope_funding", "campaign_budget", "envelope_escrow", 1000),
            flow("envelope_grab", SHOP_ENVELOPE_ESCROW, "wallet", 600, count=3),
            flow("envelope_refund", "envelope_escrow", "campaign_budget", 400),
        )
        assert (totals.budget_burn, totals.credit_issued, totals.claims) == (600, 600, 3)

    def test_a_shoppers_own_envelope_is_a_claim_but_issues_nothing(self):
        totals = booked(
            flow("envelope_funding", "wallet", "envelope_escrow", 1000),
            flow("envelope_grab", "envelope_escrow", "wallet", 1000, count=5),
        )
        assert (totals.budget_burn, totals.credit_issued, totals.claims) == (0, 0, 5)

    def test_credit_spent_at_the_store_net_of_refunds(self):
        totals = booked(
            flow("checkout_hold", "wallet", "credit_hold", 300),
            flow("checkout_redeem", "credit_hold", "shop_redeemed", 300),
            flow("checkout_refund", "shop_redeemed", "wallet", 100),
        )
        assert (totals.credit_redeemed, totals.credit_issued) == (200, 0)

    def test_a_manual_adjustment_issues_or_takes_back_credit(self):
        totals = booked(
            flow("credit_adjustment", "shop_funding", "wallet", 500),
            flow("credit_adjustment", "wallet", "shop_funding", 200),
        )
        assert (totals.credit_issued, totals.budget_burn) == (300, 0)


class TestRemainingBudget:
    def test_counted_back_from_what_the_budgets_hold_now(self):
        days = [
            DayTotals(day=date(2026, 12, d), budget_change=c)
            for d, c in ((4, 1000), (5, -300), (6, -200))
        ]
        overview.close_days(days, 500)
        assert [d.budget_remaining for d in days] == [1000, 700, 500]

    @given(st.lists(st.integers(min_value=-10_000, max_value=10_000), min_size=1, max_size=30))
    def test_never_below_zero_when_no_day_overdraws(self, changes):
        """A ledger never lets a budget overdraw: then no day of the chart shows one either."""
        balance, kept = 0, []
        for change in changes:
            change = max(change, -balance)
            balance += change
            kept.append(change)
        days = [
            DayTotals(day=date(2026, 1, 1) + timedelta(days=n), budget_change=c)
            for n, c in enumerate(kept)
        ]
        overview.close_days(days, balance)
        assert all(d.budget_remaining >= 0 for d in days)


class TestWindows:
    def test_today_seven_and_thirty_days_with_return_on_spend(self):
        days = [DayTotals(day=date(2026, 11, 7) + timedelta(days=n)) for n in range(30)]
        for n, totals in enumerate(days):
            totals.claims, totals.attributed_sales, totals.credit_issued = 1, 300, 100 * (n % 2)
            totals.coupon_cost = 100
        today, week, month = (overview.window(days, last) for last in overview.WINDOWS)
        assert (today.claims, week.claims, month.claims) == (1, 7, 30)
        assert today.return_on_spend == Decimal("1.50")  # 300 / (100 + 100)
        assert month.return_on_spend == Decimal("2.00")  # 9000 / (1500 + 3000)

    def test_nothing_spent_has_no_return(self):
        assert overview.return_on_spend(1000, 0) is None
        assert overview.return_on_spend(2, 3) == Decimal("0.67")


class TestChart:
    def test_round_axis_tops(self):
        assert [overview._scale(v) for v in ([], [99], [23_928], [5_000_000])] == [
            100,
            100,
            50_000,
            5_000_000,
        ]

    def test_bars_and_points_stay_inside_their_panels(self):
        days = [DayTotals(day=date(2026, 12, 1) + timedelta(days=n)) for n in range(7)]
        for n, totals in enumerate(days):
            totals.budget_burn, totals.credit_issued = 100 * n, -50  # a refunds-only day: no bar
            totals.budget_remaining = 10_000 - 100 * n
        line, bars, height = overview.burn_chart(days)
        assert all(line.top <= y <= line.top + line.height for _, y in line.points)
        for series in bars.bars:
            for bar in series:
                assert bar.height >= 0 and bars.top <= bar.y <= bars.top + bars.height
        assert height > bars.top + bars.height
