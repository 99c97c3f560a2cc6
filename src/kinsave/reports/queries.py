"""The shop overview's one query module: the last 30 local days of a shop, read through each
package's totals (one grouped query each), then booked into `overview.DayTotals`."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kinsave.coupons import totals as coupon_totals
from kinsave.ledger import totals as ledger_totals
from kinsave.ledger.models import AccountKind
from kinsave.reports import overview
from kinsave.reports.overview import DayTotals
from kinsave.sharing import funnel

DAYS = 30


def day_edges(today: date, zone: ZoneInfo, days: int = DAYS) -> list[datetime]:
    """The local midnights that start each of the last `days` days, and tomorrow's."""
    first = today - timedelta(days=days - 1)
    return [
        datetime.combine(first + timedelta(days=n), time(), tzinfo=zone) for n in range(days + 1)
    ]


def daily_totals(session: Session, shop_id: str, now: datetime, timezone: str) -> list[DayTotals]:
    """The shop's totals per local day, oldest first, the last being today."""
    zone = ZoneInfo(timezone)
    edges = day_edges(now.astimezone(zone).date(), zone)
    days = [DayTotals(day=edge.date()) for edge in edges[:-1]]
    for flow in ledger_totals.flows_by_day(session, shop_id, edges):
        overview.add_flow(days[flow.day], flow)
    for index, count in coupon_totals.claims_by_day(session, shop_id, edges).items():
        days[index].claims += count
    for index, cost in coupon_totals.coupon_cost_by_day(session, shop_id, edges).items():
        days[index].coupon_cost += cost
    for index, sales in funnel.attributed_sales_by_day(session, shop_id, edges).items():
        days[index].attributed_sales += sales
    remaining = ledger_totals.balance_of_kind(session, shop_id, AccountKind.CAMPAIGN_BUDGET)
    overview.close_days(days, remaining)
    return days
