"""The optimiser against the slower one it replaced (tests/coupons/oracle/): the same answers."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.bench import quote as bench
from kinsave.coupons import pricing
from kinsave.coupons import quote as optimiser
from kinsave.coupons.pricing import CartLine, HeldCoupon
from tests.coupons.oracle import pricing as oracle_pricing
from tests.coupons.oracle import quote as oracle

SKUS = [f"sku{i}" for i in range(8)]
CATEGORIES = ["rice", "oil", "snack"]
KINDS = ["amount_off", "percent_off", "threshold", "free_shipping", "set_price"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@st.composite
def lines(draw: st.DrawFn) -> list[CartLine]:
    """Up to 12 lines; a sku may repeat, a line may have no category."""
    count = draw(st.integers(0, 12))
    return [
        CartLine(
            draw(st.sampled_from(SKUS)),
            draw(st.integers(1, 5)),
            draw(st.integers(0, 20000)),
            draw(st.one_of(st.none(), st.sampled_from(CATEGORIES))),
        )
        for _ in range(count)
    ]


@st.composite
def held(draw: st.DrawFn) -> list[HeldCoupon]:
    """Up to 14 coupons over few groups, with identical terms and equal expiries on purpose."""
    made = []
    for i in range(draw(st.integers(0, 14))):
        scope = draw(st.sampled_from(["store", "categories", "skus", "unknown"]))
        values: frozenset[str] = frozenset()
        if scope == "categories":
            values = frozenset(draw(st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=2)))
        elif scope == "skus":
            values = frozenset(draw(st.sets(st.sampled_from(SKUS), min_size=1, max_size=3)))
        made.append(
            HeldCoupon(
                id=f"c{i:02d}",
                name=draw(st.sampled_from(["A", "B", f"c{i}"])),
                kind=draw(st.sampled_from(KINDS)),
                amount=draw(st.sampled_from([0, 1, 500, 2000, 9000, 50000])),
                percent=draw(st.sampled_from([0, 5, 15, 50, 100])),
                cap=draw(st.sampled_from([0, 500, 3000])),
                threshold=draw(st.sampled_from([0, 0, 3000, 9900, 49900])),
                min_spend=draw(st.sampled_from([0, 0, 5000])),
                scope=scope,
                scope_values=values,
                stacking_group=draw(st.sampled_from(["g1", "g2", "g3", "g4"])),
                credit_combinable=draw(st.booleans()),
                expires_at=draw(
                    st.one_of(st.none(), st.integers(1, 3).map(lambda d: NOW + timedelta(days=d)))
                ),
            )
        )
    return made


FIELDS = list(HeldCoupon.__dataclass_fields__)


def as_oracle(cart: list[CartLine], coupons: list[HeldCoupon]) -> tuple[list, list]:
    """The same cart and coupons as the oracle's own types."""
    return (
        [oracle_pricing.CartLine(x.sku, x.quantity, x.unit_price, x.category) for x in cart],
        [oracle_pricing.HeldCoupon(**{k: getattr(c, k) for k in FIELDS}) for c in coupons],
    )


def assert_same_quote(cart, coupons, shipping, use_credit, wallet):
    """Same chosen coupons, totals, per-line splits, explanations and hint."""
    new = optimiser.quote(cart, shipping, coupons, use_credit=use_credit, wallet_balance=wallet)
    old_cart, old_coupons = as_oracle(cart, coupons)
    old = oracle.quote(
        old_cart, shipping, old_coupons, use_credit=use_credit, wallet_balance=wallet
    )
    assert asdict(new) == asdict(old)


@settings(max_examples=600, deadline=None)
@given(lines(), held(), st.integers(0, 1500), st.integers(0, 30000), st.integers(0, 30000))
def test_quote_as_the_oracle(cart, coupons, shipping, use_credit, wallet):
    assert_same_quote(cart, coupons, shipping, use_credit, wallet)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.booleans())
def test_bench_carts_as_the_oracle(rng, saturated):
    """The bench's carts: 30 lines against 50 held coupons, typical and saturated."""
    assert_same_quote(
        bench.cart(rng, saturated=saturated),
        bench.held(rng, saturated=saturated),
        bench.SHIPPING,
        bench.USE_CREDIT,
        bench.WALLET,
    )


@settings(max_examples=300, deadline=None)
@given(lines(), held(), st.integers(0, 1500), st.integers(0, 30000), st.data())
def test_quote_selection_as_the_oracle(cart, coupons, shipping, credit, data):
    """A reservation's exact pricing of a chosen set: the same answer, or the same refusal."""
    chosen = []
    if coupons:
        chosen = data.draw(st.lists(st.sampled_from(coupons), unique_by=lambda c: c.id))
    old_cart, old_coupons = as_oracle(cart, chosen)
    try:
        new = asdict(optimiser.quote_selection(cart, shipping, chosen, credit=credit))
    except optimiser.NotApplicable as refusal:
        new = ("refused", refusal.coupon_id, refusal.reason, refusal.message)
    try:
        old = asdict(oracle.quote_selection(old_cart, shipping, old_coupons, credit=credit))
    except oracle.NotApplicable as refusal:
        old = ("refused", refusal.coupon_id, refusal.reason, refusal.message)
    assert new == old


@settings(max_examples=300, deadline=None)
@given(lines(), held(), st.integers(0, 1500))
def test_measured_as_the_oracle(cart, coupons, shipping):
    """Coupons of one scope share its lines (pricing.measure_all): each option as the oracle
    measures it, and its bit set names exactly its lines."""
    old_cart, old_coupons = as_oracle(cart, coupons)
    old = oracle_pricing.measure_all(old_cart, shipping, old_coupons)
    new = pricing.measure_all(cart, shipping, coupons)
    assert [(o.lines, o.eligible, o.nominal) for o in new] == [
        (o.lines, o.eligible, o.nominal) for o in old
    ]
    assert [o.cover for o in new] == [sum(1 << i for i in o.lines) for o in new]
