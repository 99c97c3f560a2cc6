"""How coupons and credit price a cart: the rules the optimiser (quote.py) searches over.

Pure: no database, no web. The rules, which the brute force in the tests checks against too:

- A coupon applies to its eligible lines: the whole store, some categories, or some SKUs. Its
  threshold and minimum spend are checked against the eligible lines' full price (before coupons).
- amount_off and threshold take `amount` off; percent_off takes `percent` of the eligible amount,
  rounded UP to the minor unit (so rounding favours the shopper by at most one minor unit), then
  capped at `cap` when cap > 0; free_shipping takes the shipping fee; set_price (an entitlement
  to buy one unit of a SKU at `amount`, from a group deal or a price cut) takes what one unit of
  its SKU costs above `amount` (nothing when the price is already at or below it).
- At most one coupon per stacking group; coupons of different groups stack. Coupons apply in a
  fixed order (narrowest scope first, then by terms, then id) and each takes at most what earlier
  ones left on its lines, so a discount never exceeds what it applies to and no line goes below 0.
- Each coupon's discount is spread over its lines by largest remainder, and the credit over the
  lines and the shipping the same way, so refunding lines returns exact amounts.
- Credit used = min(requested, wallet balance, what is left to pay), or 0 when a chosen coupon is
  not combinable with credit.
- Best = the lowest total to pay; ties go to fewer coupons, then the soonest-expiring (then lowest
  id) coupons, so the answer is deterministic.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

from kinsave.coupons.allocation import allocate

KINDS = ("amount_off", "percent_off", "threshold", "free_shipping", "set_price")
SCOPES = ("store", "categories", "skus")
_SCOPE_RANK = {"skus": 0, "categories": 1, "store": 2}
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class CartLine(NamedTuple):
    """A tuple, not a frozen dataclass: a quote builds one per cart line (30 in the bench), and
    the dataclass's __init__ and its cached `gross` cost three times as much (docs/benchmarks.md,
    "Sixth round")."""

    sku: str
    quantity: int
    unit_price: int
    category: str | None = None

    @property
    def gross(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class HeldCoupon:
    """A coupon the shopper holds (or a template they could claim), as the optimiser sees it."""

    id: str
    name: str
    kind: str
    amount: int = 0
    percent: int = 0
    cap: int = 0  # 0: no cap
    threshold: int = 0
    min_spend: int = 0
    scope: str = "store"
    scope_values: frozenset[str] = frozenset()
    stacking_group: str = "default"
    credit_combinable: bool = True
    expires_at: datetime | None = None

    def __hash__(self) -> int:
        # The fields' hash, as the generated one, but once: the checkout's quote memory hashes
        # every held coupon on every quote (coupons/checkout.py).
        known: int | None = self.__dict__.get("_hash")
        if known is None:
            known = self.__dict__["_hash"] = hash(
                (
                    self.id,
                    self.name,
                    self.kind,
                    self.amount,
                    self.percent,
                    self.cap,
                    self.threshold,
                    self.min_spend,
                    self.scope,
                    self.scope_values,
                    self.stacking_group,
                    self.credit_combinable,
                    self.expires_at,
                )
            )
        return known

    # Cached: read for every option the optimiser measures and compares (HeldCoupons are
    # immutable, and a process reuses them across quotes: coupons.held.held_of_row).
    @cached_property
    def required_spend(self) -> int:
        return max(self.threshold, self.min_spend)

    @cached_property
    def terms(self) -> tuple[object, ...]:
        """Everything but the identity: two coupons with equal terms act identically."""
        return (
            _SCOPE_RANK.get(self.scope, 3) if self.kind != "free_shipping" else 4,
            self.kind,
            self.amount,
            self.percent,
            self.cap,
            self.threshold,
            self.min_spend,
            self.scope,
            tuple(sorted(self.scope_values)),
            self.credit_combinable,
        )

    @cached_property
    def apply_order(self) -> tuple[object, ...]:
        """Where it applies among the chosen coupons (see `apply`)."""
        return (self.terms, self.id)

    @cached_property
    def rank(self) -> tuple[datetime, str]:
        return (self.expires_at or _FAR_FUTURE, self.id)

    def covers(self, line: CartLine) -> bool:
        if self.scope == "skus":
            return line.sku in self.scope_values
        if self.scope == "categories":
            return line.category is not None and line.category in self.scope_values
        return True


def percent_discount(base: int, percent: int, cap: int) -> int:
    """percent% of base, rounded up to the minor unit, capped when cap > 0, never above base."""
    discount = -(-base * percent // 100)
    if cap > 0:
        discount = min(discount, cap)
    return min(discount, base)


def nominal_discount(
    coupon: HeldCoupon, eligible: int, shipping_fee: int, unit_price: int = 0
) -> int:
    """What the coupon would take off on its own, given the full price of its eligible lines
    (and, for set_price, the dearest unit price among them: it covers one unit)."""
    if eligible <= 0 or eligible < coupon.required_spend:
        return 0
    if coupon.kind == "free_shipping":
        return shipping_fee
    if coupon.kind == "set_price":
        return max(0, min(unit_price, eligible) - coupon.amount)
    if coupon.kind == "percent_off":
        return percent_discount(eligible, coupon.percent, coupon.cap)
    return min(coupon.amount, eligible)


class Option(NamedTuple):
    """One coupon measured against one cart.

    A tuple, not a frozen dataclass: a quote measures every held coupon (50 in the bench), and a
    frozen dataclass's field-by-field __init__ was a visible share of that."""

    coupon: HeldCoupon
    lines: tuple[int, ...]  # indexes of eligible lines
    eligible: int  # their full price
    nominal: int
    order: tuple[object, ...]  # where it applies among the chosen (see `apply`)
    cover: int = 0  # the eligible lines as a bit set (bit i: line i), for the optimiser's bounds


def measure(lines: list[CartLine], shipping_fee: int, coupon: HeldCoupon) -> Option:
    return measure_all(lines, shipping_fee, [coupon])[0]


def measure_all(
    lines: list[CartLine], shipping_fee: int, coupons: list[HeldCoupon]
) -> list[Option]:
    """Every coupon against the cart, indexing the cart once by sku and by category.

    A store-wide coupon covers every line and their subtotal, shared by all of them, and coupons
    of one scope share its lines (many held coupons name the same categories); only a set_price
    coupon reads its lines' unit prices, so no other coupon walks them."""
    gross = [line.quantity * line.unit_price for line in lines]
    index: dict[str, dict[str, list[int]]] = {"skus": {}, "categories": {}}
    by_sku, by_category = index["skus"], index["categories"]
    for i, line in enumerate(lines):
        by_sku.setdefault(line.sku, []).append(i)
        if line.category is not None:
            by_category.setdefault(line.category, []).append(i)
    everything = (tuple(range(len(lines))), sum(gross), (1 << len(lines)) - 1)
    # scope -> scope values -> (lines, their full price, their bit set), once per scope
    scopes: dict[str, dict[frozenset[str], tuple[tuple[int, ...], int, int]]] = {
        "skus": {},
        "categories": {},
    }
    options = []
    for coupon in coupons:
        found = index.get(coupon.scope)
        if found is None:  # the whole store
            covered, eligible, cover = everything
        else:
            same_scope = scopes[coupon.scope]
            values = coupon.scope_values
            known = same_scope.get(values)
            if known is None:
                known = same_scope[values] = _lines_of(found, values, gross)
            covered, eligible, cover = known
        unit_price = 0
        if coupon.kind == "set_price":
            unit_price = max((lines[i].unit_price for i in covered), default=0)
        nominal = nominal_discount(coupon, eligible, shipping_fee, unit_price)
        measured = (coupon, covered, eligible, nominal, coupon.apply_order, cover)
        options.append(_option(Option, measured))
    return options


# NamedTuple's generated __new__ is Python code; tuple's own builds the same tuple in half the time.
_option = tuple.__new__


def _lines_of(
    found: dict[str, list[int]], values: frozenset[str], gross: list[int]
) -> tuple[tuple[int, ...], int, int]:
    """The lines whose sku (or category) is one of `values`, in cart order, their full price and
    their bit set. A line has one sku and at most one category: the values' lists share no index."""
    if len(values) == 1:
        covered: tuple[int, ...] = ()
        for value in values:
            covered = tuple(found.get(value, ()))
    else:
        covered = tuple(sorted([i for v in values for i in found.get(v, ())]))
    cover = 0
    for i in covered:
        cover |= 1 << i
    return covered, sum([gross[i] for i in covered]), cover


@dataclass
class Applied:
    """A combination applied to a cart: discounts per coupon and per line, credit, total."""

    coupon_discounts: dict[str, int]
    line_discounts: list[dict[str, int]]
    shipping_discount: int
    credit: int
    line_credits: list[int]
    shipping_credit: int
    total_to_pay: int
    coupon_ids: list[str] = field(default_factory=list)


_apply_order = itemgetter(4)  # Option.order


def take_from_lines(remaining: list[int], option: Option) -> list[int]:
    """Take the option's discount from what is left on its lines (in place); returns the parts."""
    weights = [remaining[i] for i in option.lines]
    room = sum(weights)
    if option.nominal >= room:  # it takes everything left on its lines
        parts = weights
    else:
        parts = allocate(option.nominal, weights)
    for i, part in zip(option.lines, parts, strict=True):
        remaining[i] -= part
    return parts


def apply(
    lines: list[CartLine], shipping_fee: int, chosen: list[Option], credit_limit: int
) -> Applied:
    """Apply a combination exactly (the rules in the module docstring), with per-line splits."""
    remaining = [line.quantity * line.unit_price for line in lines]
    shipping_left = shipping_fee
    per_coupon: dict[str, int] = {}
    per_line: list[dict[str, int]] = [{} for _ in lines]
    ordered = sorted(chosen, key=_apply_order)
    for option in ordered:
        coupon_id = option.coupon.id
        if option.coupon.kind == "free_shipping":
            taken = min(option.nominal, shipping_left)
            shipping_left -= taken
        else:  # take_from_lines, with each line's part written as it is taken
            weights = [remaining[i] for i in option.lines]
            taken = sum(weights)
            if option.nominal < taken:
                parts = allocate(option.nominal, weights)
                taken = sum(parts)
            else:  # it takes everything left on its lines
                parts = weights
            for i, part in zip(option.lines, parts, strict=True):
                if part:
                    remaining[i] -= part
                    per_line[i][coupon_id] = part
        per_coupon[coupon_id] = taken
    combinable = all(o.coupon.credit_combinable for o in chosen)
    payable = sum(remaining) + shipping_left
    credit = min(credit_limit, payable) if combinable else 0
    credits = allocate(credit, remaining + [shipping_left])
    return Applied(
        coupon_discounts=per_coupon,
        line_discounts=per_line,
        shipping_discount=shipping_fee - shipping_left,
        credit=credit,
        line_credits=credits[:-1],
        shipping_credit=credits[-1],
        total_to_pay=payable - credit,
        coupon_ids=[o.coupon.id for o in ordered],
    )


def _total_without_line_work(
    subtotal: int, shipping_fee: int, ordered: list[Option], credit_limit: int
) -> int | None:
    """The total to pay when no coupon can run out of room, else None.

    A coupon always has at least its eligible amount minus everything taken before it; when that
    covers its nominal discount it takes all of it, which is what `apply` would find too.
    """
    taken = shipping_taken = 0
    for option in ordered:
        if option.coupon.kind == "free_shipping":
            shipping_taken = max(shipping_taken, option.nominal)
        elif option.eligible - taken >= option.nominal:
            taken += option.nominal
        else:
            return None
    payable = subtotal - taken + shipping_fee - min(shipping_taken, shipping_fee)
    combinable = all(o.coupon.credit_combinable for o in ordered)
    return payable - (min(credit_limit, payable) if combinable else 0)


class CartPricer:
    """apply(...).total_to_pay for the many combinations the optimiser prices on one cart.

    Exact pricing keeps what is left on the lines and the shipping after every prefix of coupons
    (in the order they apply), so a combination that starts like one priced before is priced only
    from where the two differ. Same steps as `apply`, so the same totals.
    """

    KEPT_PREFIXES = 4096  # a memory bound (about 2 MB); past it prefixes are priced, not kept

    def __init__(self, lines: list[CartLine], shipping_fee: int, credit_limit: int) -> None:
        self.shipping_fee, self.credit_limit = shipping_fee, credit_limit
        gross = tuple(line.gross for line in lines)
        self.subtotal = sum(gross)
        # Keyed by the options' identities: the optimiser's options live as long as the pricer.
        self._left_after: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {
            (): (gross, shipping_fee)
        }

    def total_to_pay(self, chosen: list[Option]) -> int:
        ordered = sorted(chosen, key=_apply_order)
        total = _total_without_line_work(
            self.subtotal, self.shipping_fee, ordered, self.credit_limit
        )
        return self.exact_total(ordered) if total is None else total

    def exact_total(self, ordered: list[Option]) -> int:
        """The total to pay for options already in apply order, by `apply`'s steps."""
        key = tuple(id(option) for option in ordered)
        start = len(key)
        while key[:start] not in self._left_after:
            start -= 1
        left, shipping_left = self._left_after[key[:start]]
        remaining = list(left)
        for done, option in enumerate(ordered[start:], start + 1):
            if option.coupon.kind == "free_shipping":
                shipping_left -= min(option.nominal, shipping_left)
            else:
                take_from_lines(remaining, option)
            if len(self._left_after) < self.KEPT_PREFIXES:
                self._left_after[key[:done]] = (tuple(remaining), shipping_left)
        payable = sum(remaining) + shipping_left
        combinable = all(o.coupon.credit_combinable for o in ordered)
        return payable - (min(self.credit_limit, payable) if combinable else 0)
