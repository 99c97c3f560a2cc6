"""A reserved order's life after the quote: paid, cancelled or expired (how it reads:
order_reads.py).

Every state change is a conditional UPDATE on the order's status (`... WHERE status =
'reserved'`), so each happens exactly once however many retries, stores or sweepers race it.
Credit moves only by ledger transfers keyed by the order: CREDIT_HOLD -> SHOP_REDEEMED when paid,
CREDIT_HOLD -> wallet on cancel or expiry. Each step is a few set-based statements: the UPDATE
returns the order's row, and the answer is built from what the statements returned (no ORM
loading, no reload).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kinsave.coupons.checkout_schemas import OrderOut, PaidIn
from kinsave.coupons.models import CheckoutOrder, Coupon
from kinsave.coupons.order_reads import (
    LINES_JSON,
    ORDER_COLUMNS,
    lines_of_json,
    order_lines,
    order_out,
    order_view,
    owned_order,
)
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.ledger import batch as ledger_batch
from kinsave.ledger import keys
from kinsave.ledger.batch import Posting, ShopAccount, Wallet
from kinsave.ledger.models import AccountKind
from kinsave.sharing import attribution
from kinsave.sharing import service as sharing
from kinsave.storelinks import service as storelinks
from kinsave.webhooks import service as webhooks

PAID_STATES = ("paid", "partially_refunded", "refunded")
RELEASED_STATES = ("cancelled", "expired")


# The checkout's hot statements are built once, on the tables (Core), and run on the session's
# connection: building a statement, its cache key and the ORM's bulk-update layer cost more CPU
# than the statement itself (cProfile of reserve, paid and refund: docs/benchmarks.md).
_ORDER = cast(Table, CheckoutOrder.__table__)
_COUPON = cast(Table, Coupon.__table__)
_PAY_ORDER = (
    update(_ORDER)
    .where(
        _ORDER.c.shop_id == bindparam("p_shop"),
        _ORDER.c.order_id == bindparam("p_order"),
        _ORDER.c.status == "reserved",
        _ORDER.c.expires_at > bindparam("now"),
        # The store link in the same statement: an unlinked shopper's order stays reserved and
        # _not_paid_now says why (one round trip less than reading the link after).
        storelinks.linked_condition(_ORDER.c.shop_id, _ORDER.c.shopper_id),
    )
    .values(
        status="paid",
        paid_at=bindparam("now"),
        attribution=bindparam("p_attribution"),
        payment_method=bindparam("p_method"),
    )
)
_USE_COUPONS = (
    update(_COUPON)
    .where(_COUPON.c.order_id == bindparam("order_pk"), _COUPON.c.state == "reserved")
    .values(state="used", used_at=bindparam("now"))
)
_PAY = {
    name: _PAY_ORDER.returning(*ORDER_COLUMNS, literal_column(sql).label("lines_json"))
    for name, sql in LINES_JSON.items()
}
# PostgreSQL: the order's coupons become used in the same statement, a data-modifying CTE on the
# paid order's id (one round trip less per paid order); SQLite, in process, runs _USE_COUPONS
# after _PAY. Either way nothing happens to the coupons when the order was not paid now.
_PAID = _PAY["postgresql"].cte("paid")
_PAY_AND_USE_PG = select(_PAID).add_cte(
    update(_COUPON)
    .where(_COUPON.c.order_id.in_(select(_PAID.c.id)), _COUPON.c.state == "reserved")
    .values(state="used", used_at=bindparam("now"))
    .cte("used")
)


def mark_order_paid(
    session: Session, shop_id: str, order_id: str, data: PaidIn, now: datetime | None = None
) -> OrderOut:
    """Redeem a reservation: its coupons become used and its held credit moves to the shop.

    Idempotent: paying a paid order returns it unchanged (the first attribution stays).
    Errors: order_not_found, shopper_not_linked (the shopper unlinked the store since the
    reserve), payment_method_not_allowed (by the order's channel), order_expired (the hold ran
    out first), order_state_invalid.

    The state change comes first, as one conditional UPDATE (with the store link's condition)
    returning the order; a refusal after it (payment method, ledger) rolls the whole
    transaction back.
    """
    now = now or utcnow()
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    paid = connection.execute(
        _PAY_AND_USE_PG if postgres else _PAY["sqlite"],
        {
            "p_shop": shop_id,
            "p_order": order_id,
            "now": now,
            "p_attribution": data.attribution,
            "p_method": data.payment_method,
        },
    ).one_or_none()
    if paid is None:
        return _not_paid_now(session, shop_id, order_id, data, now)
    check_payment_method(session, paid, data.payment_method)
    if not postgres:
        connection.execute(_USE_COUPONS, {"order_pk": paid.id, "now": now})
    if paid.credit:
        _book_one(
            session,
            Posting(
                paid.hold_account_id,
                ShopAccount(AccountKind.SHOP_REDEEMED, shop_id),
                paid.credit,
                "checkout_redeem",
                keys.checkout_redeem(paid.id),
                paid.order_id,
            ),
            now,
        )
    on_order_paid(session, paid)
    return order_out(paid, lines_of_json(paid.lines_json))


def _not_paid_now(
    session: Session, shop_id: str, order_id: str, data: PaidIn, now: datetime
) -> OrderOut:
    """Why the order could not be paid now, checked in the order a store expects: unknown
    order, unlinked shopper, forbidden method, then its state (a paid order replays)."""
    order = owned_order(session, shop_id, order_id)
    if order.status == "reserved":
        storelinks.require_link(session, shop_id, order.shopper_id)
        check_payment_method(session, order, data.payment_method)
    if order.status in PAID_STATES:
        return order_view(session, order)
    if order.status == "expired" or (order.status == "reserved" and order.expires_at <= now):
        raise KinsaveError("order_expired", "the reservation expired before payment")
    raise KinsaveError("order_state_invalid", f"the order is {order.status}")


def _book_one(session: Session, posting: Posting, now: datetime) -> None:
    """The order's one ledger posting; its refusal refuses the whole request."""
    (outcome,) = ledger_batch.book(session, [posting], now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome


def check_payment_method(session: Session, order: Any, method: str | None) -> None:
    """Errors: payment_method_not_allowed when the order's channel forbids the method used."""
    if method is None:
        return
    allowed = sharing.payment_methods(session, order.shop_id, order.channel)
    if method not in allowed:
        raise KinsaveError(
            "payment_method_not_allowed",
            f"the {order.channel} channel does not allow paying with {method}",
            details={"allowed": allowed},
        )


def on_order_paid(session: Session, order: Any) -> None:
    """Runs once per order, in the paying transaction, right after it was first paid: the share
    that brought the order earns its (held) referral reward, and the store hears of it through
    the webhook outbox, both committed with the payment or not at all."""
    attribution.attribute_order(
        session,
        shop_id=order.shop_id,
        order_id=order.order_id,
        shopper_id=order.shopper_id,
        amount_paid=order.total_to_pay,
        attribution=order.attribution,
        now=order.paid_at or utcnow(),
        coupon_cost=order.discount,
    )
    webhooks.enqueue(
        session,
        order.shop_id,
        "order.paid",
        {
            "order_id": order.order_id,
            "shopper_id": order.shopper_id,
            "total_to_pay": order.total_to_pay,
            "discount": order.discount,
            "credit": order.credit,
            "coupons": list(order.coupon_ids),
        },
    )


def cancel_order(
    session: Session, shop_id: str, order_id: str, now: datetime | None = None
) -> OrderOut:
    """Release a reservation: coupons available again, held credit back to the wallet.

    Idempotent: a cancelled or expired order is returned as it is.
    Errors: order_not_found, order_state_invalid (already paid: refund it instead).
    """
    now = now or utcnow()
    of_shop = (CheckoutOrder.shop_id == shop_id, CheckoutOrder.order_id == order_id)
    closed = _release(session, of_shop, "cancelled", now)
    if closed is not None:
        return order_out(closed, order_lines(session, closed.id))
    order = owned_order(session, shop_id, order_id)
    if order.status not in RELEASED_STATES:
        raise KinsaveError("order_state_invalid", f"the order is {order.status}")
    return order_view(session, order)


def release_reservation(
    session: Session, order_pk: int, status: str, now: datetime, *, only_if_due: bool = False
) -> bool:
    """Close a reserved order as `status` and give back its coupons and credit, exactly once.

    Returns False when the order was no longer reserved (or, with only_if_due, not yet due).
    """
    conditions = [CheckoutOrder.id == order_pk]
    if only_if_due:
        conditions.append(CheckoutOrder.expires_at <= now)
    return _release(session, conditions, status, now) is not None


def _release(
    session: Session, conditions: Iterable[ColumnElement[bool]], status: str, now: datetime
) -> Any:
    """The reserved order matching `conditions`, closed as `status` (its row of ORDER_COLUMNS),
    its coupons and credit given back; None when no such order was reserved."""
    closed = session.execute(
        update(CheckoutOrder)
        .where(*conditions, CheckoutOrder.status == "reserved")
        .values(status=status, closed_at=now)
        .returning(*ORDER_COLUMNS)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if closed is None:
        return None
    session.execute(
        update(Coupon)
        .where(Coupon.order_id == closed.id, Coupon.state == "reserved")
        .values(state="available", order_id=None)
        .execution_options(synchronize_session=False)
    )
    if closed.credit:
        back = Posting(
            closed.hold_account_id,
            Wallet(closed.shopper_id, closed.shop_id),
            closed.credit,
            "checkout_release",
            keys.checkout_release(closed.id),
            closed.order_id,
        )
        _book_one(session, back, now)
    return closed


def due_reservations(session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Reserved orders whose hold has run out, oldest first."""
    rows = session.execute(
        select(CheckoutOrder.id)
        .where(CheckoutOrder.status == "reserved", CheckoutOrder.expires_at <= now)
        .order_by(CheckoutOrder.expires_at)
        .limit(limit)
    )
    return [row[0] for row in rows]


def expire_reservation(session: Session, order_pk: int, now: datetime) -> bool:
    """Release one due reservation; False when someone (another sweeper, a payment) was first."""
    return release_reservation(session, order_pk, "expired", now, only_if_due=True)
