"""checkout: linked shoppers check out at two shops with coupons and credit.

Every shopper orders once at each shop: the store quotes the cart three times as it grows (eight,
nine, then ten lines: cart views), reserves what the last quote chose, marks it paid, and one
order in ten is refunded in full. In-process an item is one whole order (three quotes, reserve,
paid, maybe refund) run as the routes run them: kinsave's quotes on the single-read engine with
no Session, its writes with their audit entries through a checkout batcher. Over HTTP every
request is timed alone, in four phases (quotes, reserves, paid, refunds) so that no step can
overtake the one before it.

Variants: `kinsave` (the store API's own functions and routes) and `straightforward` (the whole
checkout as first written, quote, reserve, paid and refund: bench/baseline_checkout.py, served
under /v1/bench/straightforward with the same audit entries and Idempotency-Key handling). The
checks read what every answer said and compare it with the database per shopper and per shop
(checkout_checks.py).
"""

import json
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from kinsave.auth.schemas import ShopPrincipal
from kinsave.batcher import Batcher
from kinsave.bench import baseline_checkout, checkout_seed
from kinsave.bench.checkout_checks import order_problems
from kinsave.bench.context import BenchContext, HttpTarget
from kinsave.bench.measure import Caller
from kinsave.coupons import checkout, orders, refunds, store_writes
from kinsave.coupons.checkout_schemas import PaidIn, QuoteIn, RefundIn, ReserveIn
from kinsave.coupons.store_writes import StoreWrite
from kinsave.db import make_single_read_engine, unit_of_work
from kinsave.errors import KinsaveError

SHIPPING = 600
VIEWS = (8, 9, 10)  # lines in the cart at each quote
REFUND_EVERY = 10
PATHS = {  # where each variant's steps are served
    "kinsave": "/v1/store",
    "straightforward": "/v1/bench/straightforward",
}


@dataclass
class Order:
    index: int
    shopper: str
    shop: int  # index into the plan's shops
    lines: list[dict[str, Any]]
    refund: bool
    tag: str  # the run's: order ids are unique per shop across variants
    answers: dict[str, Any] = field(default_factory=dict)  # step -> JSON answer

    @property
    def order_id(self) -> str:
        return f"bench-{self.tag}-{self.index}"

    def quote_body(self, view: int) -> dict[str, Any]:
        return {
            "shopper_id": self.shopper,
            "lines": self.lines[: VIEWS[view]],
            "shipping_fee": SHIPPING,
            "use_credit": checkout_seed.CREDIT[self.shop],
        }

    def reserve_body(self) -> dict[str, Any]:
        chosen = self.answers[f"quote{len(VIEWS) - 1}"]
        return {
            "order_id": self.order_id,
            "shopper_id": self.shopper,
            "lines": self.lines,
            "shipping_fee": SHIPPING,
            "coupons": chosen["coupons"],
            "use_credit": chosen["credit"],
        }


@dataclass
class CheckoutPlan:
    seeded: checkout_seed.Seeded
    orders: list[Order]

    def items(self) -> list[Order]:
        return self.orders


def _plan(ctx: BenchContext, rng: random.Random) -> CheckoutPlan:
    count = max(2, ctx.scale.quote_carts // 5)  # shoppers, each ordering at both shops
    taken = ctx.taken_shoppers
    shoppers = ctx.crowd.shopper_ids[taken : taken + count]
    ctx.taken_shoppers = taken + count
    shops = [ctx.crowd.shop_id, checkout_seed.second_shop(ctx.session_factory, ctx.crowd.shop_id)]
    seeded = checkout_seed.seed(ctx.session_factory, shops, shoppers, rng)
    made: list[Order] = []
    tag = secrets.token_hex(4)  # order ids fresh per variant; the carts the same
    for shopper in shoppers:
        for shop in (0, 1):
            lines = [
                {"sku": sku, "quantity": quantity, "unit_price": price}
                for sku, quantity, price in checkout_seed.cart(rng)
            ]
            index = len(made)
            made.append(Order(index, shopper, shop, lines, index % REFUND_EVERY == 3, tag))
    rng.shuffle(made)  # the shops' orders interleave, as in a real evening
    return CheckoutPlan(seeded, made)


Writer = Callable[[str, StoreWrite], store_writes.Answer]  # (shop id, write) -> its answer


def _run_order(
    ctx: BenchContext, plan: CheckoutPlan, order: Order, reads: Engine | None, write: Writer
) -> str:
    """One order's steps as the routes run them: the straightforward design's each in its own
    unit of work (`reads` None); kinsave's quotes on `reads`, the route's single-read engine (no
    Session, no transaction), and its writes with their audit entries through the checkout
    batcher."""
    straightforward = reads is None
    shop_id = plan.seeded.shop_ids[order.shop]
    store = ShopPrincipal(shop_id=shop_id, role="store", key_prefix="bench")
    steps = baseline_checkout if straightforward else _KINSAVE
    hold = ctx.settings.checkout_hold_seconds
    try:
        for view in range(len(VIEWS)):
            data = QuoteIn.model_validate(order.quote_body(view))
            if reads is None:
                with unit_of_work(ctx.session_factory) as session:
                    quoted = baseline_checkout.quote_checkout(session, shop_id, data)
                answer = quoted.model_dump(mode="json")
            else:
                answer = json.loads(checkout.quote_checkout_json(reads, shop_id, data))
            order.answers[f"quote{view}"] = answer
        reserve = ReserveIn.model_validate(order.reserve_body())
        reserved = write(
            shop_id,
            StoreWrite(
                store, "reserve", lambda s: steps.reserve_checkout(s, shop_id, reserve, hold)
            ),
        )
        order.answers["reserve"] = reserved.model_dump(mode="json")
        paid = write(
            shop_id,
            StoreWrite(
                store, "paid", lambda s: steps.mark_order_paid(s, shop_id, order.order_id, PaidIn())
            ),
        )
        order.answers["paid"] = paid.model_dump(mode="json")
        if order.refund:
            refunded = write(
                shop_id,
                StoreWrite(
                    store,
                    "refund",
                    lambda s: steps.refund_order(s, shop_id, order.order_id, RefundIn()),
                ),
            )
            order.answers["refund"] = refunded.model_dump(mode="json")
    except KinsaveError as refusal:
        return refusal.code
    return "ok"


class _Kinsave:
    """kinsave's own steps, as its routes call them."""

    reserve_checkout = staticmethod(checkout.reserve_checkout)
    mark_order_paid = staticmethod(orders.mark_order_paid)
    refund_order = staticmethod(refunds.refund_order)


_KINSAVE = _Kinsave()


def _alone_writer(ctx: BenchContext) -> Writer:
    """Each write in its own transaction, as the straightforward routes run them."""

    def write(shop_id: str, step: StoreWrite) -> store_writes.Answer:
        with unit_of_work(ctx.session_factory) as session:
            return step(session)

    return write


def _batched_writer(ctx: BenchContext) -> Writer:
    """Each write through one shared checkout batcher, as kinsave's routes run them."""
    batcher: Batcher[StoreWrite, store_writes.Answer] = Batcher(
        ctx.session_factory,
        store_writes.run_store_writes,
        max_batch=ctx.settings.grab_batch_max,
        lanes=ctx.settings.checkout_lanes,
        run_alone=store_writes.run_store_write,
        name="checkout",
        keys_take_turns=True,
    )
    ctx.cleanups.append(batcher.stop)
    return lambda shop_id, step: batcher.run(step, order_key=shop_id)


def _single_read_engine(ctx: BenchContext) -> Engine:
    """The engine kinsave's quote route reads on (app.state.single_read_engine)."""
    bind = ctx.session_factory.kw["bind"]
    engine = make_single_read_engine(bind)
    if engine is not bind:  # PostgreSQL's pool of its own (SQLite: the engine itself)
        ctx.cleanups.append(engine.dispose)
    return engine


def _variant(straightforward: bool) -> Callable[[BenchContext, Any], Callable[[], Caller[Any]]]:
    def factory(ctx: BenchContext, plan: CheckoutPlan) -> Callable[[], Caller[Order]]:
        write = _alone_writer(ctx) if straightforward else _batched_writer(ctx)
        reads = None if straightforward else _single_read_engine(ctx)

        def make() -> Caller[Order]:
            return lambda order: _run_order(ctx, plan, order, reads, write)

        return make

    return factory


class Checkout:
    name = "checkout"

    def __init__(self) -> None:
        self.inprocess_variants: dict[
            str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]
        ] = {"straightforward": _variant(True), "kinsave": _variant(False)}
        self.http_variants = {
            "do-nothing": "GET /v1/bench/noop",
            "straightforward": "straightforward",
            "kinsave": "kinsave",
        }

    def prepare(self, ctx: BenchContext) -> CheckoutPlan:
        return _plan(ctx, random.Random(ctx.rng.random()))

    def http_targets(
        self, ctx: BenchContext, plan: CheckoutPlan, template: str
    ) -> list[HttpTarget]:
        """The do-nothing run: as many requests as the checkout phases send."""
        count = sum(len(VIEWS) + 2 + order.refund for order in plan.orders)
        return [HttpTarget("GET", "/v1/bench/noop", "none") for _ in range(count)]

    def http_phases(
        self, ctx: BenchContext, plan: CheckoutPlan, variant: str
    ) -> Iterator[tuple[str, list[HttpTarget], Callable[[list[str]], None]]]:
        """Each phase's name, requests and what to do with its answers (in request order)."""
        keys = plan.seeded.store_keys

        def keep(step: str, chosen: list[Order]) -> Callable[[list[str]], None]:
            def record(bodies: list[str]) -> None:
                for order, body in zip(chosen, bodies, strict=True):
                    order.answers[step] = json.loads(body) if body else None

            return record

        for view in range(len(VIEWS)):
            targets = [
                HttpTarget(
                    "POST",
                    f"{PATHS[variant]}/checkout/quote",
                    keys[o.shop],
                    json.dumps(o.quote_body(view)),
                )
                for o in plan.orders
            ]
            yield f"quote{view}", targets, keep(f"quote{view}", plan.orders)
        ready = [o for o in plan.orders if _answered(o, f"quote{len(VIEWS) - 1}")]
        path = f"{PATHS[variant]}/checkout/reserve"
        targets = [
            HttpTarget("POST", path, keys[o.shop], json.dumps(o.reserve_body())) for o in ready
        ]
        yield "reserve", targets, keep("reserve", ready)
        ready = [o for o in ready if _answered(o, "reserve")]
        paid = [_order_step(PATHS[variant], o, keys, "paid") for o in ready]
        yield "paid", paid, keep("paid", ready)
        ready = [o for o in ready if o.refund and _answered(o, "paid")]
        refund = [_order_step(PATHS[variant], o, keys, "refund") for o in ready]
        yield "refund", refund, keep("refund", ready)

    def check(self, ctx: BenchContext, plan: CheckoutPlan, codes: list[str]) -> list[str]:
        problems = [f"answered {c!r}" for c in sorted(set(codes)) if c != "ok"]
        with unit_of_work(ctx.session_factory) as session:
            problems += order_problems(session, plan.seeded, plan.orders, SHIPPING)
        return problems[:20]


def _answered(order: Order, step: str) -> bool:
    answer = order.answers.get(step)
    return answer is not None and "error" not in answer


def _order_step(prefix: str, order: Order, keys: list[str], step: str) -> HttpTarget:
    path = f"{prefix}/orders/{order.order_id}/{step}"
    return HttpTarget("POST", path, keys[order.shop], "{}")
