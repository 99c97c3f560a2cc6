"""Pure: the shop overview from per-day totals: today and the last 7 and 30 days of claims,
budget burn, attributed sales, coupon cost, credit issued and redeemed, return on spend, and
the geometry of its charts. No database, no web: `queries.py` gathers the numbers.

Where each number comes from (all minor units, except counts):
- claims: daily envelope claims, envelope grabs and coupon claims;
- budget burn: what left the campaign budgets, net of what came back (expired envelopes,
  unlocked-nothing help requests), funding excluded;
- credit issued: credit that reached wallets from the shop's money (budgets, reward holds, help
  escrows, envelopes the shop funded, manual adjustments), net of what went back the same way;
  a shopper's own envelope only moves their credit between relatives and is not issued;
- credit redeemed: wallet credit spent at the store, net of credit refunded;
- return on spend: attributed sales / (credit issued + coupon cost), none when nothing was spent.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from kinsave.ledger.totals import SHOP_ENVELOPE_ESCROW, DayFlow

BUDGET, WALLET, REDEEMED = "campaign_budget", "wallet", "shop_redeemed"
SHOP_SOURCES = frozenset(
    {BUDGET, "shop_funding", "reward_hold", "help_escrow", SHOP_ENVELOPE_ESCROW}
)
CLAIM_TRANSFERS = frozenset({"daily_claim", "envelope_grab"})
WINDOWS = (1, 7, 30)


@dataclass
class DayTotals:
    day: date
    claims: int = 0
    budget_burn: int = 0
    attributed_sales: int = 0
    coupon_cost: int = 0
    credit_issued: int = 0
    credit_redeemed: int = 0
    budget_change: int = 0  # funding in, spending out: what moves the remaining budget
    budget_remaining: int = 0  # at the end of the day


def add_flow(totals: DayTotals, flow: DayFlow) -> None:
    """Book one grouped ledger flow into its day's totals."""
    if flow.source == BUDGET:
        totals.budget_change -= flow.amount
        totals.budget_burn += flow.amount
    if flow.destination == BUDGET:
        totals.budget_change += flow.amount
        if flow.kind != "campaign_funding":
            totals.budget_burn -= flow.amount
    if flow.destination == WALLET and flow.source in SHOP_SOURCES:
        totals.credit_issued += flow.amount
        totals.claims += flow.count if flow.kind in CLAIM_TRANSFERS else 0
    elif flow.destination == WALLET and flow.kind in CLAIM_TRANSFERS:
        totals.claims += flow.count  # a grab of a shopper's envelope is a claim too
    if flow.source == WALLET and flow.destination in SHOP_SOURCES:
        totals.credit_issued -= flow.amount
    if flow.destination == REDEEMED:
        totals.credit_redeemed += flow.amount
    if flow.source == REDEEMED:
        totals.credit_redeemed -= flow.amount


def close_days(days: list[DayTotals], remaining_now: int) -> None:
    """Fill each day's remaining budget backwards from what the budgets hold now (the last day
    is today). The ledger never lets a budget go below zero, so neither does this."""
    remaining = remaining_now
    for totals in reversed(days):
        totals.budget_remaining = remaining
        remaining -= totals.budget_change


@dataclass(frozen=True)
class Window:
    days: int
    claims: int
    budget_burn: int
    attributed_sales: int
    coupon_cost: int
    credit_issued: int
    credit_redeemed: int
    return_on_spend: Decimal | None  # sales per unit spent, 2 decimals; None: nothing spent


def window(days: list[DayTotals], last: int) -> Window:
    """The sums of the `last` days (today included)."""
    chosen = days[-last:]
    sales = sum(d.attributed_sales for d in chosen)
    issued = sum(d.credit_issued for d in chosen)
    cost = sum(d.coupon_cost for d in chosen)
    return Window(
        days=last,
        claims=sum(d.claims for d in chosen),
        budget_burn=sum(d.budget_burn for d in chosen),
        attributed_sales=sales,
        coupon_cost=cost,
        credit_issued=issued,
        credit_redeemed=sum(d.credit_redeemed for d in chosen),
        return_on_spend=return_on_spend(sales, issued + cost),
    )


def return_on_spend(sales: int, spent: int) -> Decimal | None:
    """sales / spent rounded half-up to 2 decimals, exactly (no float); None when spent <= 0."""
    if spent <= 0:
        return None
    ratio = Fraction(sales, spent)
    exact = Decimal(ratio.numerator) / Decimal(ratio.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    amount: int
    day: date


@dataclass(frozen=True)
class Panel:
    """One chart panel in SVG user units: a line (its points) or bars, and y-axis ticks."""

    top: float
    height: float
    ticks: list[tuple[float, int]]  # (y, amount)
    points: list[tuple[float, float]] = field(default_factory=list)
    bars: list[list[Bar]] = field(default_factory=list)  # one list per series


CHART_WIDTH, LEFT, RIGHT, PANEL_HEIGHT, GAP = 720.0, 96.0, 12.0, 120.0, 36.0


def _scale(values: list[int]) -> int:
    """The top of the axis: the largest value rounded up to 1, 2 or 5 times a power of ten
    (round tick labels), at least 100 (¥1.00: an empty chart still draws)."""
    peak, step = max([100, *values]), 100
    while True:
        for factor in (1, 2, 5):
            if step * factor >= peak:
                return step * factor
        step *= 10


def _ticks(top: float, height: float, peak: int) -> list[tuple[float, int]]:
    return [(top + height - height * part / 2, peak * part // 2) for part in range(3)]


def burn_chart(days: list[DayTotals]) -> tuple[Panel, Panel, float]:
    """Two panels over the same days: the budget remaining at each day's end (a line) and each
    day's budget burn and credit issued (bars, none below zero: a day whose refunds exceed its
    spending shows no bar). Returns (remaining, daily, chart height)."""
    slot = (CHART_WIDTH - LEFT - RIGHT) / max(len(days), 1)
    remaining = [max(d.budget_remaining, 0) for d in days]
    peak = _scale(remaining)
    line = Panel(top=8.0, height=PANEL_HEIGHT, ticks=_ticks(8.0, PANEL_HEIGHT, peak))
    for index, value in enumerate(remaining):
        x = LEFT + slot * (index + 0.5)
        line.points.append((round(x, 1), round(8.0 + PANEL_HEIGHT * (1 - value / peak), 1)))
    top = 8.0 + PANEL_HEIGHT + GAP
    series = [[max(d.budget_burn, 0) for d in days], [max(d.credit_issued, 0) for d in days]]
    peak = _scale(series[0] + series[1])
    bars = Panel(top=top, height=PANEL_HEIGHT, ticks=_ticks(top, PANEL_HEIGHT, peak))
    width = slot * 0.4
    for offset, values in enumerate(series):
        bars.bars.append(
            [
                Bar(
                    x=round(LEFT + slot * index + slot * 0.1 + width * offset, 1),
                    y=round(top + PANEL_HEIGHT * (1 - value / peak), 1),
                    width=round(width, 1),
                    height=round(PANEL_HEIGHT * value / peak, 1),
                    amount=value,
                    day=days[index].day,
                )
                for index, value in enumerate(values)
            ]
        )
    return line, bars, top + PANEL_HEIGHT + 28.0
