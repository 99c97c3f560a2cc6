"""A reserved order's rows: the order, its lines and its coupons' hold, each in one statement.

Written by the checkout's reserve (checkout.py) after its checks; the order's credit is held by
the ledger (ledger/batch.py), not here.
"""

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kinsave.coupons import orders
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
_INSERT_ORDER = {
    name: dialect.insert(_ORDER)
    .on_conflict_do_nothing(index_elements=["shop_id", "order_id"])
    .returning(*orders.ORDER_COLUMNS)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
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


def insert_order(
    session: Session,
    shop_id: str,
    data: ReserveIn,
    result: optimiser.Quote,
    request_hash: str,
    now: datetime,
    hold_seconds: int,
    channel: str,
) -> Any:
    """The new order's row (orders.ORDER_COLUMNS), its CREDIT_HOLD account opened; None when
    the order id was taken."""
    hold = ledger.open_account(
        session, AccountKind.CREDIT_HOLD, f"{shop_id}:{data.order_id}", shop_id, likely_new=True
    )
    connection = session.connection()
    row = {
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
        "hold_account_id": hold,
        "channel": channel,
        "reserved_at": now,
        "expires_at": now + timedelta(seconds=hold_seconds),
    }
    return connection.execute(_INSERT_ORDER[connection.dialect.name], row).one_or_none()


def insert_lines(session: Session, order_pk: int, result: optimiser.Quote) -> list[Any]:
    """The order's lines, in one statement; their values, for the answer."""
    rows = [
        {
            "order_id": order_pk,
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
    if rows:
        session.connection().execute(_INSERT_LINES, rows)
    return [SimpleNamespace(**row) for row in rows]


def hold_coupons(
    session: Session, order_pk: int, shopper_id: str, coupon_ids: list[str], now: datetime
) -> None:
    """Reserve the order's coupons for it. Errors: coupon_reserved (another order was first)."""
    if not coupon_ids:
        return
    params = {"coupon_ids": coupon_ids, "p_shopper": shopper_id, "now": now, "order_pk": order_pk}
    held = session.connection().execute(_HOLD_COUPONS, params).all()
    if len(held) != len(coupon_ids):  # another checkout reserved one a moment earlier
        raise KinsaveError("coupon_reserved", "a coupon was reserved by another order")
