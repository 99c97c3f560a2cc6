"""quote: checkout quotes of 30-line carts against 50 held coupons.

In-process the pure optimiser (coupons/quote.py) quotes generated carts on one thread, so its
latency is its own: "typical" carts, and the worst case where the coupons are larger than the
cart (every combination saves nearly everything, so the bound cuts little). Over HTTP the store's
`POST /v1/store/checkout/quote` quotes carts for shoppers who each hold 50 claimed coupons. Every
answer is checked against the optimiser's invariants after the timing, and each cart is quoted
twice: both answers must be equal.
"""

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kinsave.auth import service as auth
from kinsave.bench.context import BenchContext, HttpTarget
from kinsave.bench.measure import Caller
from kinsave.coupons import claims
from kinsave.coupons import service as coupons
from kinsave.coupons.pricing import CartLine, HeldCoupon
from kinsave.coupons.quote import quote
from kinsave.coupons.schemas import ScopeIn, TemplateIn
from kinsave.db import unit_of_work, utcnow
from kinsave.storelinks import service as storelinks

LINES, COUPONS, SHIPPING, USE_CREDIT, WALLET = 30, 50, 800, 2000, 5000
CATEGORIES = ["rice", "oil", "noodles", "snacks", "fruit", "dairy"]
KINDS = ["amount_off", "percent_off", "threshold", "free_shipping"]
HTTP_SHOPPERS = 10  # shoppers holding 50 coupons each, quoted in turn over HTTP


def cart(rng: random.Random, *, saturated: bool) -> list[CartLine]:
    return [
        CartLine(
            f"sku{i}",
            rng.randint(1, 3),
            rng.randint(100, 500 if saturated else 20000),
            rng.choice(CATEGORIES),
        )
        for i in range(LINES)
    ]


def held(rng: random.Random, *, saturated: bool) -> list[HeldCoupon]:
    """50 coupons like tests/coupons/bench_quote.py; saturated: 20x the amounts."""
    made = []
    for i in range(COUPONS):
        scope = rng.choice(["store", "categories", "categories", "skus"])
        values = {
            "store": frozenset(),
            "categories": frozenset(rng.sample(CATEGORIES, rng.randint(1, 2))),
            "skus": frozenset(f"sku{n}" for n in rng.sample(range(LINES), 3)),
        }[scope]
        made.append(
            HeldCoupon(
                id=f"cpn{i:02d}",
                name=f"coupon {i}",
                kind=rng.choice(KINDS),
                amount=rng.choice([500, 1000, 2000, 5000]) * (20 if saturated else 1),
                percent=rng.choice([5, 10, 15, 20]),
                cap=rng.choice([0, 1000, 3000]),
                threshold=rng.choice([0, 9900, 19900, 49900]),
                scope=scope,
                scope_values=values,
                stacking_group=f"g{rng.randint(1, 8)}",
                credit_combinable=rng.random() < 0.8,
            )
        )
    return made


def quote_problems(answer: dict[str, Any], fee: int, credit_limit: int) -> list[str]:
    """The optimiser's invariants (tests/coupons/test_quote.py) on a quote as JSON."""
    lines = answer["lines"]
    line_credit = sum(line["credit"] for line in lines)
    shipping_credit = answer["credit"] - line_credit
    line_discount = sum(line["discount"] for line in lines)
    facts = {
        "total_to_pay >= 0": answer["total_to_pay"] >= 0,
        "credit within the limit": 0 <= answer["credit"] <= credit_limit,
        "line discounts fit": all(
            0 <= line["discount"] + line["credit"] <= line["gross"]
            and line["to_pay"] == line["gross"] - line["discount"] - line["credit"]
            and line["discount"] == sum(line["coupon_discounts"].values())
            for line in lines
        ),
        "shipping discount fits": 0 <= answer["shipping_discount"] + shipping_credit <= fee,
        "parts add up to the total": sum(line["to_pay"] for line in lines)
        + fee
        - answer["shipping_discount"]
        - shipping_credit
        == answer["total_to_pay"],
        "line discounts add up": line_discount + answer["shipping_discount"] == answer["discount"],
        "coupon discounts add up": sum(answer["coupon_discounts"].values()) == answer["discount"],
    }
    return [f"broken: {name}" for name, holds in facts.items() if not holds]


@dataclass
class QuotePlan:
    carts: list[tuple[list[CartLine], list[HeldCoupon]]]
    attempts: list[int]  # cart indexes, each cart twice
    answers: dict[int, Any] = field(default_factory=dict)  # attempt index -> Quote
    shop_id: str = ""
    store_key: str = ""
    shoppers: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)  # the HTTP answers, set by the runner

    def items(self) -> list[int]:
        return list(range(len(self.attempts)))


def _optimiser(_ctx: BenchContext, plan: QuotePlan) -> Callable[[], Caller[int]]:
    def make() -> Caller[int]:
        def call(index: int) -> str:
            lines, held_coupons = plan.carts[plan.attempts[index]]
            plan.answers[index] = quote(
                lines, SHIPPING, held_coupons, use_credit=USE_CREDIT, wallet_balance=WALLET
            )
            return "ok"

        return call

    return make


class Quote:
    name = "quote"
    threads = 1  # in-process: the optimiser's own latency, not the GIL's queue

    def __init__(self) -> None:
        self._saturated = False
        self.inprocess_variants: dict[
            str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]
        ] = {"optimiser typical": _optimiser, "optimiser worst case": self._worst}
        self.http_variants = {
            "do-nothing": "GET /v1/bench/noop",
            "quote": "POST /v1/store/checkout/quote",
        }
        self.keep_bodies = True

    def _worst(self, ctx: BenchContext, plan: QuotePlan) -> Callable[[], Caller[int]]:
        # prepare() runs before the factory; rebuild the plan's carts saturated, same shape.
        rng = random.Random(ctx.rng.random())
        count = len(plan.carts)
        plan.carts = [(cart(rng, saturated=True), held(rng, saturated=True)) for _ in range(count)]
        return _optimiser(ctx, plan)

    def prepare(self, ctx: BenchContext) -> QuotePlan:
        rng = random.Random(ctx.rng.random())
        count = max(2, ctx.scale.quote_carts // 2)
        carts = [(cart(rng, saturated=False), held(rng, saturated=False)) for _ in range(count)]
        attempts = [i for i in range(count) for _ in range(2)]
        return QuotePlan(carts, attempts)

    def prepare_http(self, ctx: BenchContext, plan: QuotePlan, _variant: str) -> None:
        """A store key and HTTP_SHOPPERS shoppers, linked to its store, holding one coupon of each
        of 50 templates."""
        rng = random.Random(ctx.rng.random())
        plan.shoppers = ctx.crowd.shopper_ids[-HTTP_SHOPPERS:]
        with unit_of_work(ctx.session_factory) as session:
            plan.shop_id = ctx.crowd.shop_id
            plan.store_key = auth.create_api_key(session, plan.shop_id, "store")
            templates = [
                coupons.create_template(session, plan.shop_id, _template_in(coupon)).id
                for coupon in held(rng, saturated=False)
            ]
        for shopper in plan.shoppers:
            with unit_of_work(ctx.session_factory) as session:
                storelinks.link_shopper(session, plan.shop_id, shopper, utcnow())
                for template_id in templates:
                    claims.claim_coupon(session, shopper, template_id)

    def http_targets(self, ctx: BenchContext, plan: QuotePlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        if method == "GET":
            return [HttpTarget(method, path, "none") for _ in plan.attempts]
        return [
            HttpTarget(method, path, plan.store_key, _body(plan, cart_index))
            for cart_index in plan.attempts
        ]

    def check(self, ctx: BenchContext, plan: QuotePlan, codes: list[str]) -> list[str]:
        problems = [f"answered {c!r} x{n}" for c, n in Counter(codes).items() if c != "ok"]
        bodies = plan.bodies
        if bodies:  # over HTTP
            answers = [json.loads(body) if body else None for body in bodies]
        else:
            answers = [_as_json(plan.answers.get(i)) for i in range(len(plan.attempts))]
        first: dict[int, Any] = {}
        for cart_index, answer in zip(plan.attempts, answers, strict=True):
            if answer is None:
                problems.append(f"cart {cart_index}: no answer")
                continue
            if "error" in answer:  # a refusal (already counted in `codes`) has no quote to check
                problems.append(f"cart {cart_index}: refused {answer['error'].get('code')!r}")
                continue
            problems += [
                f"cart {cart_index}: {p}"
                for p in quote_problems(answer, SHIPPING, min(USE_CREDIT, WALLET))
            ]
            if cart_index in first and first[cart_index] != answer:
                problems.append(f"cart {cart_index}: two different answers to the same cart")
            first.setdefault(cart_index, answer)
        if not bodies:  # the optimiser again, on every cart: the same answer
            for cart_index, answer in first.items():
                lines, held_coupons = plan.carts[cart_index]
                again = quote(
                    lines, SHIPPING, held_coupons, use_credit=USE_CREDIT, wallet_balance=WALLET
                )
                if _as_json(again) != answer:
                    problems.append(f"cart {cart_index}: not deterministic on repeat")
        used = sum(1 for a in first.values() if a and a.get("coupon_discounts"))
        if first and used == 0:
            problems.append("no quote used a coupon: the optimiser was not exercised")
        return problems[:20]


def _as_json(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    answer: dict[str, Any] = json.loads(json.dumps(asdict(result), default=str))
    return answer


def _template_in(coupon: HeldCoupon) -> TemplateIn:
    scope = (
        ScopeIn(skus=sorted(coupon.scope_values)) if coupon.scope == "skus" else ScopeIn()
    )  # the bench catalog has no categories: category coupons become store-wide
    return TemplateIn(
        name=coupon.name,
        kind=coupon.kind,
        amount=coupon.amount if coupon.kind in ("amount_off", "threshold") else 0,
        percent=coupon.percent if coupon.kind == "percent_off" else 0,
        cap=coupon.cap,
        threshold=(coupon.threshold or 9900) if coupon.kind == "threshold" else 0,
        stock=1000,
        valid_days=30,
        stacking_group=coupon.stacking_group,
        credit_combinable=coupon.credit_combinable,
        scope=scope,
    )


def _body(plan: QuotePlan, cart_index: int) -> str:
    lines, _ = plan.carts[cart_index]
    return json.dumps(
        {
            "shopper_id": plan.shoppers[cart_index % len(plan.shoppers)],
            "lines": [
                {"sku": x.sku, "quantity": x.quantity, "unit_price": x.unit_price} for x in lines
            ],
            "shipping_fee": SHIPPING,
            "use_credit": USE_CREDIT,
        }
    )
