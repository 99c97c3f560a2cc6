"""How a checkout order reads: found by the shop's order id, and answered from what a statement
returned (an UPDATE's RETURNING, a SELECT), never by reloading it. The state changes are in
orders.py, reserve's rows in order_rows.py; both answer through `order_out`.
"""

import json
from collections.abc import Iterable
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from kinsave.coupons.checkout_schemas import OrderLineOut, OrderOut
from kinsave.coupons.models import CheckoutOrder, OrderLine
from kinsave.errors import KinsaveError

_ORDER = cast(Table, CheckoutOrder.__table__)
_LINE = cast(Table, OrderLine.__table__)


def find_order(session: Session, shop_id: str, order_id: str) -> CheckoutOrder | None:
    # populate_existing: a batch's session may hold this order from an earlier write of the
    # batch, which the statements below change without the ORM.
    return session.execute(
        select(CheckoutOrder)
        .where(CheckoutOrder.shop_id == shop_id, CheckoutOrder.order_id == order_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def owned_order(session: Session, shop_id: str, order_id: str) -> CheckoutOrder:
    """The shop's order; unknown (or another shop's) is order_not_found."""
    order = find_order(session, shop_id, order_id)
    if order is None:
        raise KinsaveError("order_not_found", "no such order")
    return order


# An order's columns as one statement returns them (an UPDATE's RETURNING, a SELECT): order_out
# reads these names off the row, or off a CheckoutOrder.
ORDER_COLUMNS = tuple(
    _ORDER.c[name]
    for name in (
        "id order_id shop_id shopper_id status coupon_ids subtotal shipping_fee shipping_discount"
        " shipping_credit discount credit total_to_pay hold_account_id attribution channel"
        " payment_method reserved_at expires_at paid_at closed_at"
    ).split()
)
_LINE_FIELDS = (
    "position sku quantity unit_price discount credit refunded_quantity coupon_discounts".split()
)
_LINES = (
    select(*(_LINE.c[name] for name in _LINE_FIELDS))
    .where(_LINE.c.order_id == bindparam("order_pk"))
    .order_by(_LINE.c.position)
)


class LineRow(NamedTuple):
    """An order line's values as order_out reads them (_LINE_FIELDS)."""

    position: int
    sku: str
    quantity: int
    unit_price: int
    discount: int
    credit: int
    refunded_quantity: int
    coupon_discounts: dict[str, int]


# The order's lines as one JSON array of _LINE_FIELDS arrays by position, read with the order's
# own change or read (paid's UPDATE and refund's order read return them: one round trip less
# than reading them after).
LINES_JSON = {
    "postgresql": """(SELECT json_agg(json_build_array(l.position, l.sku, l.quantity,
        l.unit_price, l.discount, l.credit, l.refunded_quantity, l.coupon_discounts)
        ORDER BY l.position)
        FROM checkout_order_line l WHERE l.order_id = checkout_order.id)""",
    "sqlite": """(SELECT json_group_array(json_array(position, sku, quantity, unit_price,
        discount, credit, refunded_quantity, json(coupon_discounts)))
        FROM (SELECT * FROM checkout_order_line l WHERE l.order_id = checkout_order.id
              ORDER BY l.position))""",
}


def lines_of_json(value: str | list[list[Any]] | None) -> list[LineRow]:
    """LINES_JSON's answer (SQLite answers text, psycopg parses it; NULL: no lines)."""
    rows = json.loads(value) if isinstance(value, str) else value or []
    return [LineRow(*row) for row in rows]


def order_lines(session: Session, order_pk: int) -> list[Any]:
    """The order's lines (position, sku, quantity, unit_price, discount, credit,
    refunded_quantity, coupon_discounts), by position: one statement, no ORM rows."""
    return list(session.connection().execute(_LINES, {"order_pk": order_pk}))


def order_out(order: Any, lines: Iterable[Any]) -> OrderOut:
    """An order's answer from a row of ORDER_COLUMNS (or a CheckoutOrder) and its lines' rows
    (_LINE_COLUMNS, or values with those names): built from what the statements returned, never
    by reloading the order."""
    return OrderOut(
        order_id=order.order_id,
        shop_id=order.shop_id,
        shopper_id=order.shopper_id,
        status=order.status,
        coupons=order.coupon_ids,
        subtotal=order.subtotal,
        shipping_fee=order.shipping_fee,
        shipping_discount=order.shipping_discount,
        discount=order.discount,
        credit=order.credit,
        total_to_pay=order.total_to_pay,
        attribution=order.attribution,
        channel=order.channel,
        payment_method=order.payment_method,
        lines=[
            OrderLineOut(
                position=x.position,
                sku=x.sku,
                quantity=x.quantity,
                unit_price=x.unit_price,
                discount=x.discount,
                credit=x.credit,
                to_pay=x.quantity * x.unit_price - x.discount - x.credit,
                refunded_quantity=x.refunded_quantity,
                coupon_discounts=x.coupon_discounts,
            )
            for x in lines
        ],
        reserved_at=order.reserved_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        closed_at=order.closed_at,
    )


def order_view(session: Session, order: CheckoutOrder) -> OrderOut:
    """The order as it is in the database now."""
    session.refresh(order)
    return order_out(order, order_lines(session, order.id))


def get_order(session: Session, shop_id: str, order_id: str) -> OrderOut:
    return order_view(session, owned_order(session, shop_id, order_id))
