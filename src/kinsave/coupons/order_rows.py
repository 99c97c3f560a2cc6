"""A reserved order's rows: the order, its lines and its coupons' hold. On SQLite (in process)
three statements; on PostgreSQL one, data-modifying CTEs on the new order's id, two round trips
less per reserve (as paid's coupons, orders.py).

Written by the checkout's reserve (checkout.py) after its checks; the order's credit is held by
the ledger (ledger/batch.py), not here.
"""

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    any_,
    bindparam,
    column,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kinsave.coupons import order_reads
from kinsave.coupons import quote as optimiser
from kinsave.coupons.checkout_schemas import ReserveIn
from kinsave.coupons.models import CheckoutOrder, Coupon, OrderLine
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind

# Built once, on the tables, and run on the session's connection, as paid's and refund's are
# (orders.py): the ORM's insert and bulk-update layers, and compiling an expanded IN list per
# call, cost more CPU than the statements (docs/benchmarks.md, "Sixth round: checkout").
_ORDER = cast(Table, CheckoutOrder.__table__)
_LINE = cast(Table, OrderLine.__table__)
_COUPON = cast(Table, Coupon.__table__)
_INSERT_ORDER = (
    sqlite.insert(_ORDER)
    .on_conflict_do_nothing(index_elements=["shop_id", "order_id"])
    .returning(*order_reads.ORDER_COLUMNS)
)
_INSERT_LINES = insert(_LINE)
_HOLD_COUPONS = (
    update(_COUPON)
    .where(
        _COUPON.c.id.in_(bindparam("coupon_ids", expanding=True)),
        _COUPON.c.shopper_id == bindparam("p_shopper"),
        _COUPON.c.state == "available",
        _COUPON.c.expires_at > bindparam("now"),
    )
    .values(state="reserved", order_id=bindparam("order_pk"))
    .returning(_COUPON.c.id)
)


_ORDER_FIELDS = (
    "shop_id order_id shopper_id status request_hash coupon_ids subtotal shipping_fee"
    " shipping_discount shipping_credit discount credit total_to_pay hold_account_id channel"
    " reserved_at expires_at"
).split()
_LINE_FIELDS = "position sku quantity unit_price discount credit coupon_discounts".split()
_PLACED = (
    postgresql.insert(_ORDER)
    # o_-prefixed: a parameter named like a column would also be SET by the CTEs' UPDATE
    .values({name: bindparam(f"o_{name}", type_=_ORDER.c[name].type) for name in _ORDER_FIELDS})
    .on_conflict_do_nothing(index_elements=["shop_id", "order_id"])
    .returning(*order_reads.ORDER_COLUMNS)
    .cte("placed")
)
_NEW_LINES = (
    func.json_to_recordset(bindparam("p_lines", type_=_LINE.c.coupon_discounts.type))
    .table_valued(*(column(name, _LINE.c[name].type) for name in _LINE_FIELDS))
    .render_derived(name="new_line", with_types=True)
)
_PLACE_PG = select(
    _PLACED,
    select(func.count())
    .select_from(
        update(_COUPON)
        .where(
            _COUPON.c.id == any_(bindparam("p_coupons", type_=postgresql.ARRAY(String))),
            _COUPON.c.shopper_id == bindparam("o_shopper_id"),
            _COUPON.c.state == "available",
            _COUPON.c.expires_at > bindparam("o_reserved_at"),
            exists(select(_PLACED.c.id)),  # nothing held for an order id already taken
        )
        .values(state="reserved", order_id=select(_PLACED.c.id).scalar_subquery())
        .returning(_COUPON.c.id)
        .cte("held")
    )
    .scalar_subquery()
    .label("coupons_held"),
).add_cte(
    insert(_LINE)
    .from_select(
        ["order_id", *_LINE_FIELDS, "refunded_quantity"],
        # placed has one row, or none when the order id was taken: every new line, or none
        select(_PLACED.c.id, *(_NEW_LINES.c[name] for name in _LINE_FIELDS), literal(0))
        .select_from(_PLACED)
        .join(_NEW_LINES, true()),
    )
    .cte("placed_lines")
)


def place_order(
    session: Session,
    shop_id: str,
    data: ReserveIn,
    result: optimiser.Quote,
    request_hash: str,
    now: datetime,
    hold_seconds: int,
    channel: str,
) -> tuple[Any, list[Any]]:
    """The new order (its row of order_reads.ORDER_COLUMNS, its CREDIT_HOLD account opened), its
    lines and its coupons held for it; (None, []) when the order id was taken. Errors:
    coupon_reserved (another order held one of its coupons first)."""
    hold = ledger.open_account(
        session, AccountKind.CREDIT_HOLD, f"{shop_id}:{data.order_id}", shop_id, likely_new=True
    )
    expires_at = now + timedelta(seconds=hold_seconds)
    row = _order_row(shop_id, data, result, request_hash, hold, channel, now, expires_at)
    lines = _line_rows(result)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        order = connection.execute(_INSERT_ORDER, row).one_or_none()
        if order is None:
            return None, []
        if lines:
            connection.execute(_INSERT_LINES, [{"order_id": order.id, **x} for x in lines])
        _hold_coupons(session, order.id, data.shopper_id, data.coupons, now)
        return order, [SimpleNamespace(**x) for x in lines]
    params = {f"o_{name}": value for name, value in row.items()}
    params.update(p_lines=lines, p_coupons=list(data.coupons))
    order = connection.execute(_PLACE_PG, params).one_or_none()
    if order is None:
        return None, []
    if order.coupons_held != len(data.coupons):  # another checkout reserved one a moment earlier
        raise KinsaveError("coupon_reserved", "a coupon was reserved by another order")
    return order, [SimpleNamespace(**x) for x in lines]


def _order_row(
    shop_id: str,
    data: ReserveIn,
    result: optimiser.Quote,
    request_hash: str,
    hold_account_id: int,
    channel: str,
    now: datetime,
    expires_at: datetime,
) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "order_id": data.order_id,
        "shopper_id": data.shopper_id,
        "status": "reserved",
        "request_hash": request_hash,
        "coupon_ids": list(data.coupons),
        "subtotal": result.subtotal,
        "shipping_fee": result.shipping_fee,
        "shipping_discount": result.shipping_discount,
        "shipping_credit": result.shipping_credit,
        "discount": result.discount,
        "credit": result.credit,
        "total_to_pay": result.total_to_pay,
        "hold_account_id": hold_account_id,
        "channel": channel,
        "reserved_at": now,
        "expires_at": expires_at,
    }


def _line_rows(result: optimiser.Quote) -> list[dict[str, Any]]:
    return [
        {
            "position": position,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount": line.discount,
            "credit": line.credit,
            "coupon_discounts": line.coupon_discounts,
            "refunded_quantity": 0,
        }
        for position, line in enumerate(result.lines)
    ]


def _hold_coupons(
    session: Session, order_pk: int, shopper_id: str, coupon_ids: list[str], now: datetime
) -> None:
    """Reserve the order's coupons for it. Errors: coupon_reserved (another order was first)."""
    if not coupon_ids:
        return
    params = {"coupon_ids": coupon_ids, "p_shopper": shopper_id, "now": now, "order_pk": order_pk}
    held = session.connection().execute(_HOLD_COUPONS, params).all()
    if len(held) != len(coupon_ids):  # another checkout reserved one a moment earlier
        raise KinsaveError("coupon_reserved", "a coupon was reserved by another order")
