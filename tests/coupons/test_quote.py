"""The pure optimiser: each kind, scope and stacking rule, rounding, and optimality."""

from datetime import UTC, datetime, timedelta
from itertools import combinations, pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.coupons.allocation import allocate, units_share
from kinsave.coupons.pricing import (
    CartLine,
    CartPricer,
    HeldCoupon,
    apply,
    measure,
    percent_discount,
)
from kinsave.coupons.quote import NotApplicable, choice_key, quote, quote_selection

RICE = CartLine("rice-5kg", 1, 5900, "rice")
OIL = CartLine("oil-1l", 2, 2000, "oil")


def coupon(cid: str, kind: str = "amount_off", **terms: object) -> HeldCoupon:
    return HeldCoupon(id=cid, name=terms.pop("name", cid), kind=kind, **terms)  # type: ignore[arg-type]


def q(lines, coupons, shipping=0, use_credit=0, wallet=0):
    return quote(lines, shipping, coupons, use_credit=use_credit, wallet_balance=wallet)


class TestKinds:
    def test_amount_off(self):
        result = q([RICE], [coupon("a", amount=2000)])
        assert (result.total_to_pay, result.coupon_ids) == (3900, ["a"])

    def test_amount_off_never_exceeds_what_it_applies_to(self):
        result = q(
            [RICE, OIL],
            [coupon("a", amount=9000, scope="skus", scope_values=frozenset({"oil-1l"}))],
        )
        assert result.discount == 4000
        assert result.lines[0].discount == 0 and result.lines[1].to_pay == 0

    def test_threshold_exactly_at_and_one_below(self):
        c = coupon("t", "threshold", amount=2000, threshold=9900, name="¥20 off ¥99")
        at = q([CartLine("a", 1, 9900)], [c])
        below = q([CartLine("a", 1, 9899)], [c])
        assert at.total_to_pay == 7900 and at.coupon_ids == ["t"]
        assert below.total_to_pay == 9899 and below.coupon_ids == []
        assert below.explanations[0].reason == "below_minimum"
        assert below.hint == "add ¥0.01 more to use ¥20 off ¥99"

    def test_unlock_hint_in_yuan(self):
        c = coupon("t", "threshold", amount=2000, threshold=9900, name="¥20 off ¥99")
        result = q([CartLine("a", 1, 8700)], [c])
        assert result.hint == "add ¥12 more to use ¥20 off ¥99"

    def test_percent_rounds_up_for_the_shopper(self):
        assert percent_discount(333, 15, 0) == 50  # 49.95 -> 50
        assert percent_discount(1000, 15, 0) == 150
        assert percent_discount(1000, 15, 120) == 120  # capped
        assert percent_discount(1, 100, 0) == 1

    def test_percent_cap(self):
        result = q([RICE], [coupon("p", "percent_off", percent=50, cap=1000)])
        assert result.discount == 1000

    def test_free_shipping(self):
        result = q([RICE], [coupon("f", "free_shipping", threshold=4900)], shipping=800)
        assert (result.shipping_discount, result.total_to_pay) == (800, 5900)

    def test_free_shipping_without_fee_is_not_applicable(self):
        result = q([RICE], [coupon("f", "free_shipping")], shipping=0)
        assert result.explanations[0].reason == "no_shipping_fee"


class TestScope:
    def test_categories(self):
        c = coupon("c", amount=500, scope="categories", scope_values=frozenset({"oil"}))
        result = q([RICE, OIL], [c])
        assert result.lines[0].discount == 0 and result.lines[1].discount == 500

    def test_out_of_scope(self):
        c = coupon("c", amount=500, scope="skus", scope_values=frozenset({"tea"}))
        assert q([RICE], [c]).explanations[0].reason == "out_of_scope"

    def test_min_spend_on_scoped_items_only(self):
        c = coupon(
            "c", amount=500, min_spend=5000, scope="categories", scope_values=frozenset({"oil"})
        )
        assert q([RICE, OIL], [c]).coupon_ids == []  # oil is 4000 < 5000 though cart is 9900
        assert "of oil" in (q([RICE, OIL], [c]).hint or "")


class TestStacking:
    def test_one_per_group_best_wins(self):
        small, big = (
            coupon("s", amount=500, stacking_group="g"),
            coupon("b", amount=900, stacking_group="g"),
        )
        result = q([RICE], [small, big])
        assert result.coupon_ids == ["b"]
        assert {e.coupon_id: e.reason for e in result.explanations}["s"] == "group_taken"

    def test_different_groups_stack(self):
        result = q(
            [RICE],
            [
                coupon("a", amount=500, stacking_group="x"),
                coupon("b", amount=900, stacking_group="y"),
            ],
        )
        assert sorted(result.coupon_ids) == ["a", "b"] and result.total_to_pay == 4500

    def test_credit_versus_non_combinable_coupon(self):
        c = coupon("n", amount=1000, credit_combinable=False)
        assert q([RICE], [c], use_credit=3000, wallet=3000).coupon_ids == []
        assert q([RICE], [c], use_credit=500, wallet=3000).coupon_ids == ["n"]

    def test_credit_limited_by_wallet_and_never_negative(self):
        result = q([RICE], [coupon("a", amount=5000)], use_credit=9999, wallet=2000)
        assert (result.credit, result.total_to_pay) == (900, 0)

    def test_tie_prefers_soonest_expiring(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        late = coupon("a", amount=500, expires_at=now + timedelta(days=9))
        soon = coupon("z", amount=500, expires_at=now + timedelta(days=1))
        assert q([RICE], [late, soon]).coupon_ids == ["z"]

    def test_selection_refuses_two_of_one_group(self):
        a, b = coupon("a", amount=1), coupon("b", amount=2)
        try:
            quote_selection([RICE], 0, [a, b], credit=0)
        except NotApplicable as refusal:
            assert refusal.reason == "group_taken"
        else:
            raise AssertionError("accepted two coupons of one group")


class TestAllocation:
    @given(st.integers(0, 10**6), st.lists(st.integers(0, 10**5), min_size=1, max_size=20))
    def test_parts_add_up_and_fit(self, total, weights):
        total = min(total, sum(weights))
        parts = allocate(total, weights)
        assert sum(parts) == (total if sum(weights) else 0)
        assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))

    @given(st.integers(0, 10**6), st.lists(st.integers(0, 10**3), min_size=1, max_size=20))
    def test_remainders_go_to_the_largest_then_the_earliest(self, total, weights):
        total = min(total, sum(weights))
        whole = sum(weights)
        expected = [total * w // whole if whole else 0 for w in weights]
        if whole and 0 < total < whole:
            by_remainder = sorted(
                range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i)
            )
            for i in by_remainder[: total - sum(expected)]:
                expected[i] += 1
        assert allocate(total, weights) == expected

    @given(st.integers(0, 10**5), st.integers(1, 50), st.data())
    def test_units_add_up(self, total, quantity, data):
        cuts = sorted(data.draw(st.lists(st.integers(0, quantity), max_size=5)))
        bounds = [0, *cuts, quantity]
        assert sum(units_share(total, quantity, a, b - a) for a, b in pairwise(bounds)) == total


GROUPS = ["g1", "g2", "g3"]
SKUS = ["a", "b", "c", "d"]
CATEGORIES = {"a": "rice", "b": "rice", "c": "oil", "d": "snack"}


@st.composite
def carts(draw):
    lines = [
        CartLine(sku, draw(st.integers(1, 4)), draw(st.integers(1, 6000)), CATEGORIES[sku])
        for sku in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=4, unique=True))
    ]
    coupons = []
    for i in range(draw(st.integers(0, 7))):
        kind = draw(st.sampled_from(["amount_off", "percent_off", "threshold", "free_shipping"]))
        scope = draw(st.sampled_from(["store", "categories", "skus"]))
        values = {
            "store": frozenset(),
            "categories": frozenset(
                draw(st.sets(st.sampled_from(["rice", "oil", "snack"]), min_size=1))
            ),
            "skus": frozenset(draw(st.sets(st.sampled_from(SKUS), min_size=1))),
        }[scope]
        coupons.append(
            HeldCoupon(
                id=f"c{i}",
                name=f"c{i}",
                kind=kind,
                amount=draw(st.integers(1, 8000)),
                percent=draw(st.integers(1, 100)),
                cap=draw(st.sampled_from([0, 500, 3000])),
                threshold=draw(st.sampled_from([0, 0, 3000, 9900])),
                min_spend=draw(st.sampled_from([0, 0, 5000])),
                scope=scope,
                scope_values=values,
                stacking_group=draw(st.sampled_from(GROUPS)),
                credit_combinable=draw(st.booleans()),
            )
        )
    return (
        lines,
        coupons,
        draw(st.integers(0, 1500)),
        draw(st.integers(0, 20000)),
        draw(st.integers(0, 20000)),
    )


@st.composite
def saturated_carts(draw):
    """The optimiser's worst case: coupons larger than the cart, so that many combinations make
    the order free and only the number of coupons and their expiry tell them apart."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    lines, coupons, shipping, use_credit, wallet = draw(carts())
    bigger = [
        HeldCoupon(
            **{
                **vars(c),
                "amount": c.amount * 10,
                "percent": max(c.percent, 50),
                "cap": 0,
                "threshold": draw(st.sampled_from([0, 0, 3000])),
                "min_spend": 0,
                "expires_at": now + timedelta(days=draw(st.integers(1, 3))),
            }
        )
        for c in coupons
    ]
    return lines, bigger, shipping, use_credit, wallet


def brute_force(lines, shipping, coupons, credit_limit):
    options = [measure(lines, shipping, c) for c in coupons]
    best = None
    for size in range(len(options) + 1):
        for subset in combinations(options, size):
            groups = [o.coupon.stacking_group for o in subset]
            if len(set(groups)) != len(groups):
                continue
            total = apply(lines, shipping, list(subset), credit_limit).total_to_pay
            key = choice_key(total, list(subset))
            if best is None or key < best:
                best = key
    return best


def assert_matches_brute_force(cart):
    lines, coupons, shipping, use_credit, wallet = cart
    result = quote(lines, shipping, coupons, use_credit=use_credit, wallet_balance=wallet)
    best = brute_force(lines, shipping, coupons, min(use_credit, wallet))
    chosen = [c for c in coupons if c.id in result.coupon_ids]
    assert (result.total_to_pay, len(chosen)) == best[:2]
    assert tuple(sorted(c.rank for c in chosen)) == best[2]


class TestCartPricer:
    @settings(max_examples=100, deadline=None)
    @given(carts(), st.sampled_from([1, 3, 4096]))
    def test_every_combination_priced_as_apply_does(self, cart, kept_prefixes):
        """One pricer for all the subsets, in search-like order, reusing (or, past its memory
        bound, not keeping) the prefixes: each total equals a fresh `apply`."""
        lines, coupons, shipping, use_credit, wallet = cart
        credit = min(use_credit, wallet)
        options = [measure(lines, shipping, c) for c in coupons]
        pricer = CartPricer(lines, shipping, credit)
        pricer.KEPT_PREFIXES = kept_prefixes
        for size in range(len(options) + 1):
            for subset in combinations(options, size):
                expected = apply(lines, shipping, list(subset), credit).total_to_pay
                assert pricer.total_to_pay(list(subset)) == expected


class TestOptimality:
    @settings(max_examples=300, deadline=None)
    @given(carts())
    def test_matches_brute_force(self, cart):
        assert_matches_brute_force(cart)

    @settings(max_examples=300, deadline=None)
    @given(saturated_carts())
    def test_matches_brute_force_when_coupons_exceed_the_cart(self, cart):
        assert_matches_brute_force(cart)

    @settings(max_examples=200, deadline=None)
    @given(carts())
    def test_invariants(self, cart):
        lines, coupons, shipping, use_credit, wallet = cart
        result = quote(lines, shipping, coupons, use_credit=use_credit, wallet_balance=wallet)
        assert result.total_to_pay >= 0
        assert result.credit <= min(use_credit, wallet)
        for line in result.lines:
            assert 0 <= line.discount + line.credit <= line.gross
            assert line.to_pay >= 0
        assert result.shipping_discount + result.shipping_credit <= shipping
        assert (
            sum(line.to_pay for line in result.lines)
            + shipping
            - result.shipping_discount
            - result.shipping_credit
            == result.total_to_pay
        )
        assert (
            sum(line.discount for line in result.lines) + result.shipping_discount
            == result.discount
        )
        assert sum(result.coupon_discounts.values()) == result.discount
