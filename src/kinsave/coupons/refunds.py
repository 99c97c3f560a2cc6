"""Refunds of paid orders, whole or by lines, exact to the minor unit.

Each line's discount and credit were split over its units at checkout (largest remainder, see
allocation.units_share), so refunding units in order returns exactly what they carried, and a
fully refunded line returns its whole discount and credit. A refund takes its units by a
conditional UPDATE (`refunded_quantity + n <= quantity`) and is unique per (order, refund key),
so a retry never refunds twice. Credit goes back SHOP_REDEEMED -> wallet by one ledger transfer.
A coupon comes back (with its original expiry) once every line it discounted is fully refunded;
a shipping coupon once the whole order is.
"""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, literal_column, select, update
from sqlalchemy.orm import Session

from kinsave.coupons import order_reads
from kinsave.coupons.allocation import units_share
from kinsave.coupons.checkout_schemas import RefundedLineOut, RefundIn, RefundOut
from kinsave.coupons.models import CheckoutOrder, Coupon, OrderLine, OrderRefund
from kinsave.db import insert_on_conflict, utcnow
from kinsave.errors import KinsaveError
from kinsave.idempotency import service as idempotency
from kinsave.ledger import batch as ledger_batch
from kinsave.ledger import keys
from kinsave.ledger.batch import Posting, ShopAccount, Wallet
from kinsave.ledger.models import AccountKind
from kinsave.sharing import attribution
from kinsave.webhooks import service as webhooks


def refund_order(
    session: Session, shop_id: str, order_id: str, data: RefundIn, now: datetime | None = None
) -> RefundOut:
    """Refund the given lines' units (or everything not refunded yet when no lines are given).

    Idempotent per (order, refund_id or, without one, the body): a retry returns the first
    result. Errors: order_not_found, order_state_invalid (not paid, fully refunded, or the
    refund id reused with another body), invalid_request (unknown sku, more than is left).
    """
    now = now or utcnow()
    request_hash = idempotency.fingerprint("refund", order_id, data.model_dump(mode="json"))
    key = data.refund_id or "body:" + request_hash[:40]
    order = _order_row(session, shop_id, order_id, key)
    if order.refund_pk is not None:  # this refund was made before: its first answer
        return _replay(order.refund_hash, order.refund_result, request_hash)
    if order.status not in ("paid", "partially_refunded"):
        raise KinsaveError("order_state_invalid", f"the order is {order.status}")
    refund_pk = _insert_refund(session, order.id, key, request_hash, now)
    if refund_pk is None:  # the same refund committed concurrently
        again = _find_refund(session, order.id, key)
        assert again is not None
        return _replay(again.request_hash, again.result, request_hash)
    lines = order_reads.lines_of_json(order.lines_json)
    refunded = _refund_units(session, order.id, _wanted(lines, data))
    status, shipping_cash, shipping_credit = _close_if_done(session, order, now)
    credit = sum(line.credit for line in refunded) + shipping_credit
    _return_credit(session, order, refund_pk, credit, now)
    result = RefundOut(
        order_id=order.order_id,
        shop_id=order.shop_id,
        shopper_id=order.shopper_id,
        refund_id=key,
        amount=sum(line.amount for line in refunded) + shipping_cash,
        credit_returned=credit,
        shipping_refunded=shipping_cash + shipping_credit,
        lines=refunded,
        coupons_restored=_restore_coupons(session, order, status),
        order_status=status,
    )
    kept = {
        "p_amount": result.amount,
        "p_credit": credit,
        "p_result": result.model_dump(mode="json"),
    }
    session.connection().execute(_KEEP_RESULT, {"refund_pk": refund_pk, **kept})
    on_order_refunded(session, order, result)
    return result


# Built once, on the tables, run on the session's connection (see orders.py: building them per
# request cost more CPU than running them).
_ORDER = cast(Table, CheckoutOrder.__table__)
_LINE = cast(Table, OrderLine.__table__)
_REFUND = cast(Table, OrderRefund.__table__)
# The order's columns a refund reads, its lines (order_reads.LINES_JSON) and the refund of this key
# if it was made before, in one statement (three before: docs/benchmarks.md, "Sixth round").
_ORDER_ROW = {
    name: select(
        *(
            _ORDER.c[column]
            for column in (
                "id order_id shop_id shopper_id status coupon_ids shipping_fee shipping_discount"
                " shipping_credit"
            ).split()
        ),
        _REFUND.c.id.label("refund_pk"),
        _REFUND.c.request_hash.label("refund_hash"),
        _REFUND.c.result.label("refund_result"),
        literal_column(lines_json).label("lines_json"),
    )
    .select_from(
        _ORDER.outerjoin(
            _REFUND,
            and_(_REFUND.c.order_id == _ORDER.c.id, _REFUND.c.refund_key == bindparam("p_key")),
        )
    )
    .where(_ORDER.c.shop_id == bindparam("p_shop"), _ORDER.c.order_id == bindparam("p_order"))
    for name, lines_json in order_reads.LINES_JSON.items()
}
_UNITS_LEFT = (
    select(func.coalesce(func.sum(_LINE.c.quantity - _LINE.c.refunded_quantity), 0))
    .where(_LINE.c.order_id == bindparam("order_pk"))
    .scalar_subquery()
)
_CLOSE = (
    update(_ORDER)
    .where(
        _ORDER.c.id == bindparam("order_pk"),
        _ORDER.c.status.in_(("paid", "partially_refunded")),
    )
    .values(
        status=case((_UNITS_LEFT == 0, "refunded"), else_="partially_refunded"),
        closed_at=case(
            (_UNITS_LEFT == 0, bindparam("now", type_=_ORDER.c.closed_at.type)), else_=None
        ),
    )
    .returning(_ORDER.c.status)
)
_LINE_COUPONS = select(_LINE.c.coupon_discounts, _LINE.c.quantity, _LINE.c.refunded_quantity).where(
    _LINE.c.order_id == bindparam("order_pk")
)
_KEEP_RESULT = (
    update(_REFUND)
    .where(_REFUND.c.id == bindparam("refund_pk"))
    .values(
        amount=bindparam("p_amount"), credit=bindparam("p_credit"), result=bindparam("p_result")
    )
)


def _order_row(session: Session, shop_id: str, order_id: str, key: str) -> Any:
    """What a refund reads of the order, in one row (_ORDER_ROW); order_not_found for another
    shop's."""
    params = {"p_shop": shop_id, "p_order": order_id, "p_key": key}
    connection = session.connection()
    order = connection.execute(_ORDER_ROW[connection.dialect.name], params).one_or_none()
    if order is None:
        raise KinsaveError("order_not_found", "no such order")
    return order


def _return_credit(
    session: Session, order: Any, refund_pk: int, credit: int, now: datetime
) -> None:
    if not credit:
        return
    back = Posting(
        ShopAccount(AccountKind.SHOP_REDEEMED, order.shop_id),
        Wallet(order.shopper_id, order.shop_id),
        credit,
        "checkout_refund",
        keys.checkout_refund(refund_pk),
        order.order_id,
    )
    (outcome,) = ledger_batch.book(session, [back], now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome


def on_order_refunded(session: Session, order: Any, refund: RefundOut) -> None:
    """Runs once per refund, in the refunding transaction, after the money moved: the referral
    reward is clawed back in proportion to the cash refunded, and the store hears of it."""
    if refund.amount > 0:  # a refund of wallet credit alone unearns no referral reward
        attribution.reverse_order(
            session,
            shop_id=order.shop_id,
            order_id=order.order_id,
            refunded_amount=refund.amount,
            now=utcnow(),
        )
    webhooks.enqueue(session, order.shop_id, "order.refunded", refund.model_dump(mode="json"))


def _find_refund(session: Session, order_pk: int, key: str) -> OrderRefund | None:
    return session.execute(
        select(OrderRefund).where(OrderRefund.order_id == order_pk, OrderRefund.refund_key == key)
    ).scalar_one_or_none()


def _replay(first_hash: str, first_result: Any, request_hash: str) -> RefundOut:
    """The answer of a refund made before with this key (its request's hash and result)."""
    if first_hash != request_hash or first_result is None:
        raise KinsaveError("order_state_invalid", "this refund id was used for another refund")
    return RefundOut.model_validate(first_result)


def _insert_refund(
    session: Session, order_pk: int, key: str, request_hash: str, now: datetime
) -> int | None:
    refund_pk: int | None = session.execute(
        insert_on_conflict(session, OrderRefund)
        .values(
            order_id=order_pk,
            refund_key=key,
            request_hash=request_hash,
            amount=0,
            credit=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["order_id", "refund_key"])
        .returning(OrderRefund.id)
    ).scalar_one_or_none()
    return refund_pk


def _wanted(lines: list[Any], data: RefundIn) -> list[tuple[Any, int]]:
    """(line, units to refund) for each line the request takes units of, by position."""
    if data.lines is None:
        return [
            (x, x.quantity - x.refunded_quantity) for x in lines if x.quantity > x.refunded_quantity
        ]
    wanted: dict[int, int] = {}
    for request in data.lines:
        left = request.quantity
        matching = [x for x in lines if x.sku == request.sku]
        if not matching:
            raise KinsaveError("invalid_request", f"the order has no line for sku {request.sku}")
        for line in matching:
            take = min(left, line.quantity - line.refunded_quantity - wanted.get(line.position, 0))
            if take > 0:
                wanted[line.position] = wanted.get(line.position, 0) + take
                left -= take
        if left:
            raise KinsaveError(
                "invalid_request", f"only part of sku {request.sku} is left to refund"
            )
    return [(x, wanted[x.position]) for x in lines if wanted.get(x.position)]


def _refund_units(
    session: Session, order_pk: int, wanted: list[tuple[Any, int]]
) -> list[RefundedLineOut]:
    """Take the units of every wanted line in one conditional UPDATE (`refunded_quantity + n <=
    quantity` per line); the units a line had refunded before decide what these carry."""
    if not wanted:
        return []
    count = case({line.position: n for line, n in wanted}, value=OrderLine.position)
    after = dict(
        session.execute(
            update(OrderLine)
            .where(
                OrderLine.order_id == order_pk,
                OrderLine.position.in_([line.position for line, _ in wanted]),
                OrderLine.refunded_quantity + count <= OrderLine.quantity,
            )
            .values(refunded_quantity=OrderLine.refunded_quantity + count)
            .returning(OrderLine.position, OrderLine.refunded_quantity)
            .execution_options(synchronize_session=False)
        ).all()
    )
    refunded = []
    for line, n in wanted:
        if line.position not in after:  # a concurrent refund took these units first
            raise KinsaveError("invalid_request", f"sku {line.sku} was refunded meanwhile; retry")
        start = after[line.position] - n
        discount = units_share(line.discount, line.quantity, start, n)
        credit = units_share(line.credit, line.quantity, start, n)
        refunded.append(
            RefundedLineOut(
                position=line.position,
                sku=line.sku,
                quantity=n,
                amount=n * line.unit_price - discount - credit,
                credit=credit,
                discount=discount,
            )
        )
    return refunded


def _close_if_done(session: Session, order: Any, now: datetime) -> tuple[str, int, int]:
    """The order's status after this refund, in one UPDATE: refunded when no unit is left (that
    refund also returns the shipping: its cash and credit), else partially_refunded."""
    status = (
        session.connection()
        .execute(_CLOSE, {"order_pk": order.id, "now": now})
        .scalar_one_or_none()
    )
    if status != "refunded":
        return status or order.status, 0, 0
    cash = order.shipping_fee - order.shipping_discount - order.shipping_credit
    return status, cash, order.shipping_credit


def _restore_coupons(session: Session, order: Any, status: str) -> list[str]:
    rows: list[Any] = list(session.connection().execute(_LINE_COUPONS, {"order_pk": order.id}))
    restorable = []
    for coupon_id in order.coupon_ids:
        lines = [r for r in rows if coupon_id in r[0]]
        if lines and all(r[2] == r[1] for r in lines) or not lines and status == "refunded":
            restorable.append(coupon_id)
    if not restorable:
        return []
    restored = session.execute(
        update(Coupon)
        .where(Coupon.id.in_(restorable), Coupon.order_id == order.id, Coupon.state == "used")
        .values(state="available", order_id=None, used_at=None)
        .returning(Coupon.id)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(row[0] for row in restored)
