"""The funnel report of a campaign: shares, opens, resolves, claims, store visits, orders, sales,
coupon cost and reward cost, per channel and/or campaign-local day. Bot events never count.

Claims are the coupons claimed through a share (recorded when claimed) and the grabs of an
envelope a share led to: a grab counts for the latest share of that envelope the grabber opened or
resolved before grabbing (their touch), at the time of the grab. The grab is not recorded a second
time as an event: the storm paths write it, and the envelope_grab row is the record.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.db import day_index
from kinsave.envelopes import totals as envelope_totals
from kinsave.sharing.models import ReferralReward, Share, SharingEvent
from kinsave.sharing.schemas import FunnelOut, FunnelRow

COUNTED = {
    "share_created": "shares",
    "link_opened": "opens",
    "token_resolved": "resolves",
    "coupon_claimed_via_share": "claims",
    "store_visit": "store_visits",
    "order_paid": "orders",
}
TOUCHES = ("link_opened", "token_resolved")
GROUPINGS = ("channel", "day")
Key = tuple[str | None, date | None]


def funnel(session: Session, shop_id: str, campaign_id: str, by: list[str]) -> FunnelOut:
    """The campaign's funnel grouped `by` channel and/or day. Errors: not_found (another shop's
    campaign too)."""
    campaign = campaigns.owned_campaign(session, shop_id, campaign_id)
    zone = ZoneInfo(campaign.timezone)

    def key(channel: str | None, at: datetime) -> Key:
        return (
            channel if "channel" in by else None,
            at.astimezone(zone).date() if "day" in by else None,
        )

    rows: dict[Key, FunnelRow] = defaultdict(lambda: FunnelRow(channel=None, day=None))
    events = session.execute(
        select(
            SharingEvent.kind, SharingEvent.channel, SharingEvent.occurred_at, SharingEvent.amount
        ).where(
            SharingEvent.shop_id == shop_id,
            SharingEvent.campaign_id == campaign_id,
            SharingEvent.is_bot.is_(False),
            SharingEvent.kind.in_([*COUNTED, "coupon_redeemed"]),
        )
    )
    for kind, channel, at, amount in events:
        row = rows[key(channel, at)]
        if kind == "coupon_redeemed":  # the coupon discount of an order a share brought
            row.coupon_cost += amount
            continue
        setattr(row, COUNTED[kind], getattr(row, COUNTED[kind]) + 1)
        if kind == "order_paid":
            row.sales += amount
    rewards = session.execute(
        select(
            ReferralReward.channel,
            ReferralReward.created_at,
            ReferralReward.amount - ReferralReward.clawed_back + ReferralReward.unrecovered,
        ).where(ReferralReward.shop_id == shop_id, ReferralReward.campaign_id == campaign_id)
    )
    for channel, at, cost in rewards:
        rows[key(channel, at)].reward_cost += int(cost)
    for channel, at in envelope_claims(session, shop_id, campaign_id):
        rows[key(channel, at)].claims += 1
    result = []
    for (channel, day), row in sorted(
        rows.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or date.min)
    ):
        row.channel, row.day = channel, day
        result.append(row)
    return FunnelOut(campaign_id=campaign_id, by=by, rows=result)


def envelope_claims(
    session: Session, shop_id: str, campaign_id: str
) -> list[tuple[str | None, datetime]]:
    """(channel, grabbed at) of every grab of an envelope that one of the campaign's shares led
    the grabber to: the latest touch of a share of that envelope before the grab wins."""
    touches = session.execute(
        select(
            Share.target_id, SharingEvent.shopper_id, SharingEvent.occurred_at, SharingEvent.channel
        )
        .join(Share, Share.code == SharingEvent.share_code)
        .where(
            SharingEvent.shop_id == shop_id,
            SharingEvent.campaign_id == campaign_id,
            SharingEvent.kind.in_(TOUCHES),
            SharingEvent.is_bot.is_(False),
            SharingEvent.shopper_id.is_not(None),
            Share.target_type == "envelope",
        )
    ).all()
    by_grabber: dict[tuple[str, str | None], list[tuple[datetime, str | None]]] = defaultdict(list)
    for envelope_id, shopper_id, at, channel in touches:
        by_grabber[(envelope_id, shopper_id)].append((at, channel))
    claims = []
    for envelope_id, shopper_id, grabbed_at in envelope_totals.grabs_of(
        session, {envelope_id for envelope_id, _ in by_grabber}
    ):
        before = [t for t in by_grabber.get((envelope_id, shopper_id), []) if t[0] <= grabbed_at]
        if before:
            claims.append((max(before, key=lambda t: t[0])[1], grabbed_at))
    return claims


def attributed_sales_by_day(
    session: Session, shop_id: str, edges: Sequence[datetime]
) -> dict[int, int]:
    """Report day (db.day_index) -> what the orders shares brought were paid, across campaigns."""
    day = day_index(SharingEvent.occurred_at, edges)
    rows = session.execute(
        select(day, func.sum(SharingEvent.amount))
        .where(
            SharingEvent.shop_id == shop_id,
            SharingEvent.kind == "order_paid",
            SharingEvent.is_bot.is_(False),
            SharingEvent.occurred_at >= edges[0],
            SharingEvent.occurred_at < edges[-1],
        )
        .group_by(day)
    )
    return {int(d): int(amount or 0) for d, amount in rows}


def funnel_csv(report: FunnelOut) -> str:
    """The report as CSV, one line per row, header first."""
    buffer = io.StringIO()
    fields = list(FunnelRow.model_fields)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow(
            {k: ("" if v is None else v) for k, v in row.model_dump(mode="json").items()}
        )
    return buffer.getvalue()
