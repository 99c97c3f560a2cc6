"""The checkout as first written: the `checkout` scenario's straightforward design, kept apart
(like bench/baseline.py) so it is never mistaken for kinsave's own.

Every step loads what it touches as ORM objects (the order, its lines, each coupon, locked FOR
UPDATE), changes their attributes and lets the session flush them, and moves credit one ledger
transfer at a time through the ledger's own functions (`ledger.transfer`, each account looked up
or opened first). The answers, the rows written (the same transfer keys and kinds), the audit
entries, webhooks and attribution are kinsave's, so the scenario's checks apply to both.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.coupons import checkout, order_reads, orders, refunds
from kinsave.coupons import quote as optimiser
from kinsave.coupons.allocation import units_share
from kinsave.coupons.checkout_schemas import (
    OrderOut,
    PaidIn,
    QuoteIn,
    QuoteOut,
    RefundedLineOut,
    RefundIn,
    RefundOut,
    ReserveIn,
)
from kinsave.coupons.held import as_held
from kinsave.coupons.models import CheckoutOrder, Coupon, CouponTemplate, OrderLine, OrderRefund
from kinsave.coupons.pricing import HeldCoupon
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.idempotency import service as idempotency
from kinsave.ledger import keys
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind
from kinsave.sharing import service as sharing
from kinsave.storelinks import service as storelinks


def quote_checkout(session: Session, shop_id: str, data: QuoteIn) -> QuoteOut:
    """The checkout quote as first written: held coupons and their templates loaded as ORM
    objects, the wallet as an ORM account, the answer built and validated as Pydantic models."""
    now = utcnow()
    storelinks.require_link(session, shop_id, data.shopper_id)
    rows = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(
            Coupon.shopper_id == data.shopper_id,
            Coupon.shop_id == shop_id,
            Coupon.state == "available",
            Coupon.expires_at > now,
        )
        .order_by(Coupon.id)
    ).all()
    held = [as_held(template, coupon.id, coupon.expires_at) for coupon, template in rows]
    wallet = session.scalar(
        select(Account).where(
            Account.kind == AccountKind.WALLET.value,
            Account.owner_id == data.shopper_id,
            Account.shop_id == shop_id,
        )
    )
    balance = wallet.balance if wallet is not None else 0
    channel = data.channel or checkout.DEFAULT_CHANNEL
    methods = sharing.payment_methods(session, shop_id, channel)
    result = optimiser.quote(
        checkout.cart_lines(session, shop_id, data.lines),
        data.shipping_fee,
        held,
        use_credit=data.use_credit if "wallet" in methods else 0,
        wallet_balance=balance,
    )
    return checkout.quote_out(data.shopper_id, balance, result, channel, methods)


def _locked_order(session: Session, shop_id: str, order_id: str) -> CheckoutOrder | None:
    return session.scalar(
        select(CheckoutOrder)
        .where(CheckoutOrder.shop_id == shop_id, CheckoutOrder.order_id == order_id)
        .with_for_update()
    )


def reserve_checkout(
    session: Session, shop_id: str, data: ReserveIn, hold_seconds: int
) -> OrderOut:
    """Load and lock each coupon, check it, price the selection, add the order and its lines,
    mark the coupons reserved, then move the credit to the order's hold account."""
    now = utcnow()
    storelinks.require_link(session, shop_id, data.shopper_id)
    request_hash = idempotency.fingerprint("reserve", shop_id, data.model_dump(mode="json"))
    existing = _locked_order(session, shop_id, data.order_id)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise KinsaveError("order_state_invalid", "this order id was reserved differently")
        return order_reads.order_view(session, existing)
    channel = checkout.channel_of(data)
    if data.use_credit and "wallet" not in sharing.payment_methods(session, shop_id, channel):
        raise KinsaveError("payment_method_not_allowed", "this channel forbids wallet credit")
    coupons = [_available_coupon(session, shop_id, data.shopper_id, c, now) for c in data.coupons]
    held: list[HeldCoupon] = [
        as_held(session.get_one(CouponTemplate, c.template_id), c.id, c.expires_at) for c in coupons
    ]
    try:
        result = optimiser.quote_selection(
            checkout.cart_lines(session, shop_id, data.lines),
            data.shipping_fee,
            held,
            credit=data.use_credit,
        )
    except optimiser.NotApplicable as refusal:
        code = "invalid_amount" if refusal.coupon_id is None else "coupon_not_applicable"
        raise KinsaveError(code, refusal.message) from None
    hold = ledger.open_account(
        session, AccountKind.CREDIT_HOLD, f"{shop_id}:{data.order_id}", shop_id
    )
    expires_at = now + timedelta(seconds=hold_seconds)
    order = _add_order(session, shop_id, data, result, request_hash, hold, now, expires_at)
    for coupon in coupons:
        coupon.state, coupon.order_id = "reserved", order.id
    session.flush()
    if order.credit:
        wallet = ledger.wallet_account(session, data.shopper_id, shop_id)
        ledger.transfer(
            session,
            from_account_id=wallet,
            to_account_id=hold,
            amount=order.credit,
            kind="checkout_hold",
            key=keys.checkout_hold(order.id),
            reference=order.order_id,
            now=now,
        )
    return order_reads.order_view(session, order)


def _add_order(
    session: Session,
    shop_id: str,
    data: ReserveIn,
    result: optimiser.Quote,
    request_hash: str,
    hold: int,
    now: datetime,
    expires_at: datetime,
) -> CheckoutOrder:
    """The order and its lines, added as ORM objects and flushed."""
    order = CheckoutOrder(
        shop_id=shop_id,
        order_id=data.order_id,
        shopper_id=data.shopper_id,
        status="reserved",
        request_hash=request_hash,
        coupon_ids=list(data.coupons),
        subtotal=result.subtotal,
        shipping_fee=result.shipping_fee,
        shipping_discount=result.shipping_discount,
        shipping_credit=result.shipping_credit,
        discount=result.discount,
        credit=result.credit,
        total_to_pay=result.total_to_pay,
        hold_account_id=hold,
        channel=checkout.channel_of(data),
        reserved_at=now,
        expires_at=expires_at,
    )
    session.add(order)
    session.flush()
    for position, line in enumerate(result.lines):
        session.add(
            OrderLine(
                order_id=order.id,
                position=position,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                credit=line.credit,
                coupon_discounts=line.coupon_discounts,
                refunded_quantity=0,
            )
        )
    session.flush()
    return order


def _available_coupon(
    session: Session, shop_id: str, shopper_id: str, coupon_id: str, now: datetime
) -> Coupon:
    coupon = session.get(Coupon, coupon_id, with_for_update=True)
    if coupon is None or coupon.shopper_id != shopper_id or coupon.shop_id != shop_id:
        raise KinsaveError("not_found", f"the shopper holds no coupon {coupon_id}")
    if coupon.state == "available" and coupon.expires_at <= now:
        raise KinsaveError("coupon_expired", f"coupon {coupon_id} has expired")
    if coupon.state != "available":
        code = "coupon_reserved" if coupon.state == "reserved" else "coupon_used"
        raise KinsaveError(code, f"coupon {coupon_id} is {coupon.state}")
    return coupon


def mark_order_paid(session: Session, shop_id: str, order_id: str, data: PaidIn) -> OrderOut:
    """Load and lock the order, check it, mark it and each of its coupons, move the credit."""
    now = utcnow()
    order = _locked_order(session, shop_id, order_id)
    if order is None:
        raise KinsaveError("order_not_found", "no such order")
    if order.status in orders.PAID_STATES:
        return order_reads.order_view(session, order)
    if order.status != "reserved" or order.expires_at <= now:
        expired = order.status in ("reserved", "expired")
        code = "order_expired" if expired else "order_state_invalid"
        raise KinsaveError(code, f"the order is {order.status}")
    storelinks.require_link(session, shop_id, order.shopper_id)
    orders.check_payment_method(session, order, data.payment_method)
    order.status, order.paid_at = "paid", now
    order.attribution, order.payment_method = data.attribution, data.payment_method
    for coupon in session.scalars(select(Coupon).where(Coupon.order_id == order.id)):
        coupon.state, coupon.used_at = "used", now
    session.flush()
    if order.credit:
        redeemed = ledger.open_account(session, AccountKind.SHOP_REDEEMED, shop_id, shop_id)
        ledger.transfer(
            session,
            from_account_id=order.hold_account_id,
            to_account_id=redeemed,
            amount=order.credit,
            kind="checkout_redeem",
            key=keys.checkout_redeem(order.id),
            reference=order.order_id,
            now=now,
        )
    orders.on_order_paid(session, order)
    return order_reads.order_view(session, order)


def refund_order(session: Session, shop_id: str, order_id: str, data: RefundIn) -> RefundOut:
    """Load and lock the order and its lines, take the units line by line, then the credit
    back and each coupon whose lines are all refunded."""
    now = utcnow()
    order = _locked_order(session, shop_id, order_id)
    if order is None:
        raise KinsaveError("order_not_found", "no such order")
    request_hash = idempotency.fingerprint("refund", order_id, data.model_dump(mode="json"))
    key = data.refund_id or "body:" + request_hash[:40]
    previous = session.scalar(
        select(OrderRefund).where(OrderRefund.order_id == order.id, OrderRefund.refund_key == key)
    )
    if previous is not None:
        if previous.request_hash != request_hash or previous.result is None:
            raise KinsaveError("order_state_invalid", "this refund id was used for another")
        return RefundOut.model_validate(previous.result)
    if order.status not in ("paid", "partially_refunded"):
        raise KinsaveError("order_state_invalid", f"the order is {order.status}")
    lines = list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position)
        )
    )
    taken = _take_units(lines, data)
    refund = OrderRefund(
        order_id=order.id,
        refund_key=key,
        request_hash=request_hash,
        amount=0,
        credit=0,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    done = all(x.refunded_quantity == x.quantity for x in lines)
    order.status = "refunded" if done else "partially_refunded"
    order.closed_at = now if done else None
    shipping_credit = order.shipping_credit if done else 0
    shipping_cash = order.shipping_fee - order.shipping_discount - shipping_credit if done else 0
    credit = sum(x.credit for x in taken) + shipping_credit
    if credit:
        _return_credit(session, order, refund.id, credit, now)
    result = RefundOut(
        order_id=order.order_id,
        shop_id=shop_id,
        shopper_id=order.shopper_id,
        refund_id=key,
        amount=sum(x.amount for x in taken) + shipping_cash,
        credit_returned=credit,
        shipping_refunded=shipping_cash + shipping_credit,
        lines=taken,
        coupons_restored=_restore_coupons(session, order, lines),
        order_status=order.status,
    )
    refund.amount, refund.credit = result.amount, credit
    refund.result = result.model_dump(mode="json")
    session.flush()
    refunds.on_order_refunded(session, order, result)
    return result


def _return_credit(
    session: Session, order: CheckoutOrder, refund_pk: int, credit: int, now: datetime
) -> None:
    """The refund's credit back to the wallet: each account looked up (or opened), one transfer."""
    ledger.transfer(
        session,
        from_account_id=ledger.open_account(
            session, AccountKind.SHOP_REDEEMED, order.shop_id, order.shop_id
        ),
        to_account_id=ledger.wallet_account(session, order.shopper_id, order.shop_id),
        amount=credit,
        kind="checkout_refund",
        key=keys.checkout_refund(refund_pk),
        reference=order.order_id,
        now=now,
    )


def _take_units(lines: list[OrderLine], data: RefundIn) -> list[RefundedLineOut]:
    """Each line's units to refund (all that is left, or the request's skus in line order)."""
    wanted: dict[str, int] | None = None
    if data.lines is not None:
        wanted = {}
        for request in data.lines:
            wanted[request.sku] = wanted.get(request.sku, 0) + request.quantity
    taken = []
    for line in lines:
        left = line.quantity - line.refunded_quantity
        count = left if wanted is None else min(left, wanted.get(line.sku, 0))
        if count <= 0:
            continue
        if wanted is not None:
            wanted[line.sku] -= count
        start, line.refunded_quantity = line.refunded_quantity, line.refunded_quantity + count
        discount = units_share(line.discount, line.quantity, start, count)
        credit = units_share(line.credit, line.quantity, start, count)
        taken.append(
            RefundedLineOut(
                position=line.position,
                sku=line.sku,
                quantity=count,
                credit=credit,
                amount=count * line.unit_price - discount - credit,
                discount=discount,
            )
        )
    if wanted and any(wanted.values()) or (wanted is not None and not taken):
        raise KinsaveError("invalid_request", "more than is left to refund, or an unknown sku")
    return taken


def _restore_coupons(session: Session, order: CheckoutOrder, lines: list[OrderLine]) -> list[str]:
    restored = []
    for coupon_id in order.coupon_ids:
        used_on = [x for x in lines if coupon_id in x.coupon_discounts]
        whole = all(x.refunded_quantity == x.quantity for x in used_on)
        if used_on and whole or not used_on and order.status == "refunded":
            coupon = session.get(Coupon, coupon_id, with_for_update=True)
            if coupon is not None and coupon.order_id == order.id and coupon.state == "used":
                coupon.state, coupon.order_id, coupon.used_at = "available", None, None
                restored.append(coupon_id)
    session.flush()
    return sorted(restored)
