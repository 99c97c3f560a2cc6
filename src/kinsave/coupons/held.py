"""The shopper's held coupons as the pure optimiser reads them (HeldCoupon): from ORM rows
(`as_held`) or straight from the driver's rows (`held_coupons`, `held_of_row`, and the SQL
fragments the checkout quote's one read is built from). Reads only."""

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from kinsave.coupons.pricing import HeldCoupon
from kinsave.db import driver_of, psycopg_sql, sqlite_time


class TemplateTerms(Protocol):
    """What the optimiser reads of a template: a CouponTemplate, or a row of its columns."""

    name: str
    kind: str
    amount: int
    percent: int
    cap: int
    threshold: int
    min_spend: int
    scope_kind: str
    scope_values: list[str]
    stacking_group: str
    credit_combinable: bool


def as_held(template: TemplateTerms, coupon_id: str, expires_at: datetime | None) -> HeldCoupon:
    """A template's terms as the pure optimiser reads them."""
    return HeldCoupon(
        id=coupon_id,
        name=template.name,
        kind=template.kind,
        amount=template.amount,
        percent=template.percent,
        cap=template.cap,
        threshold=template.threshold,
        min_spend=template.min_spend,
        scope=template.scope_kind,
        scope_values=frozenset(template.scope_values),
        stacking_group=template.stacking_group,
        credit_combinable=template.credit_combinable,
        expires_at=expires_at,
    )


# Sent straight to the driver (decision 17): through the ORM, turning 50 rows into HeldCoupons
# (result processing, JSON and time types, statement caching) was a third of a checkout quote's
# server time, more than the optimiser itself (docs/benchmarks.md).
# scope_values as text on both databases: psycopg would parse 50 JSON values per quote, most of
# them rows held_of_row already remembers (about 6 % of a PostgreSQL quote under cProfile).
HELD_COLUMNS = """c.id, c.expires_at, t.name, t.kind, t.amount, t.percent, t.cap, t.threshold,
    t.min_spend, t.scope_kind, CAST(t.scope_values AS TEXT), t.stacking_group,
    t.credit_combinable"""
HELD_WHERE = """c.shopper_id = :shopper_id AND c.shop_id = :shop_id AND c.state = 'available'
    AND c.expires_at > :now"""
_HELD = f"""
    SELECT {HELD_COLUMNS}
    FROM coupon c JOIN coupon_template t ON t.id = c.template_id
    WHERE {HELD_WHERE}
    ORDER BY c.id
"""
_PG_HELD = psycopg_sql(_HELD)


def held_coupons(
    session: Session, shop_id: str, shopper_id: str, now: datetime
) -> list[HeldCoupon]:
    """The shopper's available, unexpired coupons for this shop. Reads only."""
    params: dict[str, object] = {"shopper_id": shopper_id, "shop_id": shop_id}
    postgres = session.get_bind().dialect.name == "postgresql"
    with driver_of(session) as driver:
        if postgres:
            params["now"] = now
            rows = driver.execute(_PG_HELD, params, prepare=True).fetchall()
        else:
            params["now"] = sqlite_time(now)
            rows = driver.execute(_HELD, params).fetchall()
    return [held_of_row(row, postgres) for row in rows]


# held_of_row's answers by row: a quote reads 50 coupons, most of them the same rows as the last
# quote's, and building each (times, JSON, a frozen dataclass) cost more than reading it. A pure
# function of the row's values, so never stale; cleared when full.
_MAX_REMEMBERED_HELD = 50_000
_held_of_rows: dict[tuple[Any, ...], HeldCoupon] = {}


def held_of_row(row: Any, postgres: bool) -> HeldCoupon:
    """A HeldCoupon from HELD_COLUMNS as the driver returns them."""
    key = tuple(row)
    held = _held_of_rows.get(key)
    if held is None:
        held = _held_of_new_row(row, postgres)
        if len(_held_of_rows) >= _MAX_REMEMBERED_HELD:
            _held_of_rows.clear()
        _held_of_rows[key] = held
    return held


def _held_of_new_row(row: Any, postgres: bool) -> HeldCoupon:
    (coupon_id, expires_at, name, kind, amount, percent, cap, threshold, min_spend) = row[:9]
    scope_kind, scope_values, stacking_group, credit_combinable = row[9:]
    if postgres:
        expires_at = expires_at.astimezone(UTC)
    else:  # as UTCDateTime reads it back on SQLite
        expires_at = datetime.fromisoformat(expires_at).replace(tzinfo=UTC)
    return HeldCoupon(
        coupon_id,
        name,
        kind,
        amount,
        percent,
        cap,
        threshold,
        min_spend,
        scope_kind,
        frozenset(json.loads(scope_values)),
        stacking_group,
        bool(credit_combinable),
        expires_at,
    )
