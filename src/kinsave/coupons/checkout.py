"""The store's checkout: quote a cart, and reserve (hold) the chosen coupons and credit.

An order id is unique per shop: the same id with the same body replays the order, with another
body it is refused. Coupons are held by a conditional UPDATE (`state = 'available'`), credit by a
ledger transfer wallet -> CREDIT_HOLD keyed by the order, so no order can use either twice.
Paying, cancelling and expiring live in orders.py, refunds in refunds.py.
"""

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cached_property

from pydantic import TypeAdapter
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from kinsave.catalog import service as catalog
from kinsave.coupons import order_reads, order_rows
from kinsave.coupons import quote as optimiser
from kinsave.coupons import service as coupons
from kinsave.coupons.checkout_schemas import (
    CartLineIn,
    ExplanationOut,
    OrderOut,
    QuotedLineOut,
    QuoteIn,
    QuoteOut,
    ReserveIn,
)
from kinsave.coupons.explain import Explanation
from kinsave.coupons.models import CheckoutOrder, Coupon
from kinsave.coupons.pricing import CartLine, HeldCoupon
from kinsave.coupons.quote_inputs import QuoteInputs, await_quote_inputs, read_quote_inputs
from kinsave.coupons.quote_memory import AnswerMemory
from kinsave.db import AwaitedReads, utcnow
from kinsave.errors import KinsaveError
from kinsave.idempotency import service as idempotency
from kinsave.ledger import batch as ledger_batch
from kinsave.ledger import keys
from kinsave.ledger.batch import Posting, Wallet
from kinsave.sharing import service as sharing
from kinsave.storelinks import service as storelinks

DEFAULT_CHANNEL = "web"  # a visit that names no channel came straight to the store


def cart_lines(session: Session, shop_id: str, lines: list[CartLineIn]) -> list[CartLine]:
    """The store's lines with each sku's category from the catalog (None when unknown)."""
    return with_categories(lines, catalog.categories_of(session, shop_id, [x.sku for x in lines]))


def with_categories(lines: list[CartLineIn], categories: dict[str, str]) -> list[CartLine]:
    """The store's lines as the optimiser takes them, each with its sku's category (None when
    the catalog has none)."""
    return [CartLine(x.sku, x.quantity, x.unit_price, categories.get(x.sku)) for x in lines]


def quote_checkout(
    session: Session, shop_id: str, data: QuoteIn, now: datetime | None = None
) -> QuoteOut:
    """The lowest total to pay over the shopper's available coupons for this shop and the credit
    they chose to use, and the payment methods the visit's channel allows (no credit when it
    forbids "wallet"). Reads only. Errors: shopper_not_linked, not_found (unknown channel)."""
    visit = _read_visit(session, shop_id, data, now or utcnow())
    return quote_out(data.shopper_id, visit.read.wallet, visit.best(), visit.channel, visit.methods)


def quote_checkout_json(
    source: Session | Engine, shop_id: str, data: QuoteIn, now: datetime | None = None
) -> bytes:
    """quote_checkout's answer as QuoteOut's JSON, for the route (see quote_json), remembered
    per process (quote_memory.py). Given the engine, it reads outside any Session and
    transaction (quote_inputs.read_quote_inputs)."""
    return _answer_json(_read_visit(source, shop_id, data, now or utcnow()))


async def quote_checkout_awaited(
    engine: Engine,
    reads: AwaitedReads | None,
    shop_id: str,
    data: QuoteIn,
    now: datetime | None = None,
) -> bytes:
    """quote_checkout_json(engine, ...) for the route. Given `reads` (PostgreSQL, decision
    47) the read is awaited, so the event loop serves other requests while the database
    works; without (SQLite: its read is this process's own CPU, nothing to wait for) it is
    quote_checkout_json's. The same statement, the same answer."""
    if reads is None:
        return quote_checkout_json(engine, shop_id, data, now)
    channel = data.channel or DEFAULT_CHANNEL
    skus = [line.sku for line in data.lines]
    now = now or utcnow()
    read = await await_quote_inputs(reads, shop_id, data.shopper_id, channel, skus, now)
    return _answer_json(_visit(engine, data, read, channel))


def _answer_json(visit: "_Visit") -> bytes:
    def answer() -> bytes:
        wallet = visit.read.wallet
        return quote_json(visit.data.shopper_id, wallet, visit.best(), visit.channel, visit.methods)

    return _answers.answer(visit.memory_key(), answer)


_answers = AnswerMemory()
WARM_UP_ID = "warm-up"  # no shop, shopper, sku or coupon has it (ids are UUIDs)


async def warm_quote(engine: Engine, reads: AwaitedReads | None) -> None:
    """The quote's first-run work, for a process's start-up (ops/warm_up.py): the route's read
    (its connection opened, on PostgreSQL its statement prepared) for a shop no store has, then
    the optimiser and the answer's JSON on a cart of one line and one coupon. Reads nothing of
    anyone's, writes nothing, remembers no answer."""
    line = CartLineIn(sku=WARM_UP_ID, quantity=1, unit_price=100)
    try:
        data = QuoteIn(shopper_id=WARM_UP_ID, lines=[line])
        await quote_checkout_awaited(engine, reads, WARM_UP_ID, data)
    except KinsaveError as refusal:
        if refusal.code != "shopper_not_linked":
            raise
    coupon = HeldCoupon(WARM_UP_ID, WARM_UP_ID, "amount_off", amount=10)
    lines = [CartLine(WARM_UP_ID, 1, 100, None)]
    result = optimiser.quote(lines, 0, [coupon], use_credit=0, wallet_balance=0)
    quote_json(WARM_UP_ID, 0, result, DEFAULT_CHANNEL, ["wallet"])


@dataclass(frozen=True)
class _Visit:
    """What a quote reads; the optimiser's inputs are built from it only when it runs."""

    source: Session | Engine  # for the terms of templates new to this process
    data: QuoteIn
    read: QuoteInputs
    channel: str
    methods: list[str]
    use_credit: int  # what the shopper asked for, 0 when the channel forbids "wallet"

    @cached_property
    def cart(self) -> tuple[tuple[str, int, int, str | None], ...]:
        """The cart's lines with their categories: CartLine's fields, as plain tuples."""
        categories = self.read.categories
        return tuple(
            (x.sku, x.quantity, x.unit_price, categories.get(x.sku)) for x in self.data.lines
        )

    def memory_key(self) -> Hashable:
        """Everything the answer is a function of, as plain tuples: hashing 30 CartLines and 50
        HeldCoupons per quote was a visible cost, and a remembered answer needs neither built.
        The held coupons' JSON names their terms exactly (template and terms' version)."""
        data = self.data
        return (
            data.shopper_id,
            self.cart,
            data.shipping_fee,
            self.read.held_json,
            self.use_credit,
            self.read.wallet,
            self.channel,
            tuple(self.methods),
        )

    def best(self) -> optimiser.Quote:
        # The memory key's tuples are the CartLines' fields: made into CartLines as they are.
        return optimiser.quote(
            [_cart_line(CartLine, line) for line in self.cart],
            self.data.shipping_fee,
            self.read.held(self.source),
            use_credit=self.use_credit,
            wallet_balance=self.read.wallet,
        )


_cart_line = tuple.__new__  # a CartLine of a tuple of its fields, without NamedTuple's __new__


def _read_visit(source: Session | Engine, shop_id: str, data: QuoteIn, now: datetime) -> _Visit:
    channel = data.channel or DEFAULT_CHANNEL
    skus = [line.sku for line in data.lines]
    read = read_quote_inputs(source, shop_id, data.shopper_id, channel, skus, now)
    return _visit(source, data, read, channel)


def _visit(source: Session | Engine, data: QuoteIn, read: QuoteInputs, channel: str) -> _Visit:
    if not read.linked:
        raise storelinks.not_linked()
    methods = sharing.payment_methods_read(channel, read.rules_json, read.channel_added)
    use_credit = data.use_credit if "wallet" in methods else 0
    return _Visit(source, data, read, channel, methods, use_credit)


def quote_out(
    shopper_id: str, wallet: int, result: optimiser.Quote, channel: str, methods: list[str]
) -> QuoteOut:
    return QuoteOut(
        shopper_id=shopper_id,
        subtotal=result.subtotal,
        shipping_fee=result.shipping_fee,
        shipping_discount=result.shipping_discount,
        discount=result.discount,
        credit=result.credit,
        wallet_balance=wallet,
        total_to_pay=result.total_to_pay,
        coupons=result.coupon_ids,
        coupon_discounts=result.coupon_discounts,
        lines=[QuotedLineOut(**asdict(line)) for line in result.lines],
        explanations=[ExplanationOut(**asdict(why)) for why in result.explanations],
        hint=result.hint,
        channel=channel,
        payment_methods=methods,
    )


class _QuoteAnswer(TypedDict):
    """QuoteOut's fields in its order, holding the optimiser's dataclasses as they are."""

    shopper_id: str
    subtotal: int
    shipping_fee: int
    shipping_discount: int
    discount: int
    credit: int
    wallet_balance: int
    total_to_pay: int
    coupons: list[str]
    coupon_discounts: dict[str, int]
    lines: list[optimiser.QuotedLine]
    explanations: list[Explanation]
    hint: str | None
    channel: str
    payment_methods: list[str]


# A serialiser that knows the types: half the time of pydantic-core inferring them per value.
_quote_answer_json = TypeAdapter(_QuoteAnswer).dump_json


def quote_json(
    shopper_id: str, wallet: int, result: optimiser.Quote, channel: str, methods: list[str]
) -> bytes:
    """quote_out(...).model_dump_json(), without building and validating 80 models: the
    optimiser's dataclasses have QuoteOut's fields and types (a test compares the two), so they
    are serialised as they are. Building the models was a tenth of a quote (docs/benchmarks.md)."""
    return _quote_answer_json(
        {
            "shopper_id": shopper_id,
            "subtotal": result.subtotal,
            "shipping_fee": result.shipping_fee,
            "shipping_discount": result.shipping_discount,
            "discount": result.discount,
            "credit": result.credit,
            "wallet_balance": wallet,
            "total_to_pay": result.total_to_pay,
            "coupons": result.coupon_ids,
            "coupon_discounts": result.coupon_discounts,
            "lines": result.lines,
            "explanations": result.explanations,
            "hint": result.hint,
            "channel": channel,
            "payment_methods": methods,
        }
    )


def reserve_checkout(
    session: Session, shop_id: str, data: ReserveIn, hold_seconds: int, now: datetime | None = None
) -> OrderOut:
    """Hold the order's coupons and credit until now + hold_seconds.

    Idempotent per (shop, order id): the same body returns the order as it is now.
    Errors: shopper_not_linked (also for an unknown shopper: a link names an existing one),
    order_state_invalid (order id reused with another body), not_found (coupon or channel),
    payment_method_not_allowed (credit on a channel that forbids "wallet"), coupon_expired,
    coupon_reserved, coupon_used, coupon_not_applicable, invalid_amount (credit above what is
    left to pay), insufficient_funds (wallet).

    It reads what a quote reads, in the quote's one statement (quote_inputs.py: the link, the
    channel's policy, the cart's categories, the held coupons), and looks for an earlier order
    of the same id only when the new one can not be made or its id is taken: a replay's coupons
    are reserved by itself, so it is refused by the checks and then found (one round trip less
    than reading the order first, on every new order).
    """
    now = now or utcnow()
    skus = [line.sku for line in data.lines]
    read = read_quote_inputs(session, shop_id, data.shopper_id, channel_of(data), skus, now)
    if not read.linked:
        raise storelinks.not_linked()
    request_hash = idempotency.fingerprint("reserve", shop_id, data.model_dump(mode="json"))
    try:
        result = _reservable_quote(session, shop_id, data, read, now)
    except KinsaveError:
        existing = order_reads.find_order(session, shop_id, data.order_id)
        if existing is None:
            raise
        return _replay(session, existing, request_hash)
    order, lines = order_rows.place_order(
        session, shop_id, data, result, request_hash, now, hold_seconds, channel_of(data)
    )
    if order is None:  # reserved before, or by a concurrent reserve of the same order id
        existing = order_reads.find_order(session, shop_id, data.order_id)
        assert existing is not None
        return _replay(session, existing, request_hash)
    if order.credit:
        hold = Posting(
            Wallet(data.shopper_id, shop_id),
            order.hold_account_id,
            order.credit,
            "checkout_hold",
            keys.checkout_hold(order.id),
            order.order_id,
        )
        (outcome,) = ledger_batch.book(session, [hold], now=now)
        if isinstance(outcome, KinsaveError):
            raise outcome
    return order_reads.order_out(order, lines)


def channel_of(data: ReserveIn) -> str:
    return data.channel or DEFAULT_CHANNEL


def _reservable_quote(
    session: Session, shop_id: str, data: ReserveIn, read: QuoteInputs, now: datetime
) -> optimiser.Quote:
    """The reserve's totals with exactly the chosen coupons and credit, or why not."""
    methods = sharing.payment_methods_read(channel_of(data), read.rules_json, read.channel_added)
    if data.use_credit and "wallet" not in methods:
        raise KinsaveError("payment_method_not_allowed", "this channel forbids wallet credit")
    if len(set(data.coupons)) != len(data.coupons):
        raise KinsaveError("coupon_not_applicable", "a coupon is listed twice")
    available = {c.id: c for c in read.held(session)} if data.coupons else {}
    missing = [coupon_id for coupon_id in data.coupons if coupon_id not in available]
    if missing:
        raise _unavailable(session, shop_id, data.shopper_id, missing, now)
    try:
        return optimiser.quote_selection(
            with_categories(data.lines, read.categories),
            data.shipping_fee,
            [available[coupon_id] for coupon_id in data.coupons],
            credit=data.use_credit,
        )
    except optimiser.NotApplicable as refusal:
        code = "invalid_amount" if refusal.coupon_id is None else "coupon_not_applicable"
        raise KinsaveError(
            code, refusal.message, details={"coupon_id": refusal.coupon_id}
        ) from None


def _unavailable(
    session: Session, shop_id: str, shopper_id: str, coupon_ids: list[str], now: datetime
) -> KinsaveError:
    """Why the first of these coupons (none of them held and available) can not be reserved."""
    rows = session.execute(
        select(Coupon).where(
            Coupon.id.in_(coupon_ids), Coupon.shopper_id == shopper_id, Coupon.shop_id == shop_id
        )
    ).scalars()
    found = {coupon.id: coupon for coupon in rows}
    coupon_id = coupon_ids[0]
    if coupon_id not in found:
        return KinsaveError("not_found", f"the shopper holds no coupon {coupon_id}")
    state = coupons.coupon_state(found[coupon_id], now)
    if state == "expired":
        return KinsaveError("coupon_expired", f"coupon {coupon_id} has expired")
    code = "coupon_reserved" if state == "reserved" else "coupon_used"
    return KinsaveError(code, f"coupon {coupon_id} is {state}")


def _replay(session: Session, order: CheckoutOrder, request_hash: str) -> OrderOut:
    if order.request_hash != request_hash:
        raise KinsaveError(
            "order_state_invalid", "this order id was reserved with a different request"
        )
    return order_reads.order_view(session, order)
