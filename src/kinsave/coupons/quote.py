"""The checkout optimiser: which held coupons, with how much wallet credit, make an order cheapest.

Pure: no database, no web. The pricing rules live in pricing.py; this module searches them.
"Best" is the lowest total to pay; ties go to fewer coupons, then to the soonest-expiring (then
lowest id) coupons, so the same cart always gets the same answer.
"""

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from kinsave.coupons.explain import Explanation, explain
from kinsave.coupons.pricing import (
    Applied,
    CartLine,
    HeldCoupon,
    Option,
    apply,
    measure_all,
    total_to_pay,
)

ChoiceKey = tuple[int, int, tuple[tuple[datetime, str], ...]]


def choice_key(total: int, chosen: list[Option]) -> ChoiceKey:
    """Lower is better: total to pay, then fewer coupons, then soonest-expiring, lowest ids."""
    return (total, len(chosen), tuple(sorted(o.coupon.rank for o in chosen)))


def candidate_groups(options: list[Option]) -> list[list[Option]]:
    """Useful options per stacking group, best first, one per set of identical terms.

    Coupons with identical terms in one group act identically, so only the preferred one (the
    soonest to expire) can be in the best answer; dropping the others keeps the search small.
    """
    useful = sorted(
        (o for o in options if o.nominal > 0),
        key=lambda o: (o.coupon.stacking_group, o.coupon.terms, o.coupon.rank),
    )
    groups: list[list[Option]] = []
    for _group, members in groupby(useful, key=lambda o: o.coupon.stacking_group):
        distinct = [next(same) for _terms, same in groupby(members, key=lambda o: o.coupon.terms)]
        distinct.sort(key=lambda o: (-o.nominal, o.coupon.rank))
        groups.append(distinct)
    # Biggest savings first: a good answer early lets the bound cut more.
    groups.sort(key=lambda g: (-g[0].nominal, g[0].coupon.stacking_group))
    return groups


class _Search:
    """Branch and bound over stacking groups: at most one option per group, or none.

    A branch is cut when even the best nominal discount of every remaining group plus all the
    credit cannot beat the best answer so far (nor tie it without using more coupons).
    """

    def __init__(
        self, lines: list[CartLine], shipping_fee: int, options: list[Option], credit: int
    ) -> None:
        self.lines, self.shipping_fee, self.credit = lines, shipping_fee, credit
        self.groups = candidate_groups(options)
        self.full = sum(line.gross for line in lines) + shipping_fee
        self.rest = [0] * (len(self.groups) + 1)
        for i in range(len(self.groups) - 1, -1, -1):
            self.rest[i] = self.rest[i + 1] + self.groups[i][0].nominal
        self.chosen: list[Option] = []
        self.best: list[Option] = []
        self.best_key = choice_key(total_to_pay(lines, shipping_fee, [], credit), [])

    def run(self) -> list[Option]:
        self._visit(0, 0, True)
        return self.best

    def _visit(self, depth: int, nominal: int, combinable: bool) -> None:
        bound = min(self.full, nominal + self.rest[depth] + (self.credit if combinable else 0))
        best_savings = self.full - self.best_key[0]
        if bound < best_savings or (bound == best_savings and len(self.chosen) > self.best_key[1]):
            return
        if bound == best_savings and len(self.chosen) == self.best_key[1]:
            # Only choosing nothing more could still tie and win on the coupons' order.
            depth = len(self.groups)
        if depth == len(self.groups) or nominal + (self.credit if combinable else 0) >= self.full:
            # A leaf; or the coupons so far may already make the order free, and then adding
            # more could only lose the tie-break.
            total = total_to_pay(self.lines, self.shipping_fee, self.chosen, self.credit)
            key = choice_key(total, self.chosen)
            if key < self.best_key:
                self.best_key, self.best = key, list(self.chosen)
            if depth == len(self.groups) or total == 0:
                return
        for option in self.groups[depth]:
            self.chosen.append(option)
            self._visit(
                depth + 1, nominal + option.nominal, combinable and option.coupon.credit_combinable
            )
            self.chosen.pop()
        self._visit(depth + 1, nominal, combinable)


def best_combination(
    lines: list[CartLine], shipping_fee: int, options: list[Option], credit_limit: int
) -> list[Option]:
    """The chosen options of the best answer (see the module docstring for "best")."""
    return _Search(lines, shipping_fee, options, credit_limit).run()


@dataclass(frozen=True)
class QuotedLine:
    sku: str
    quantity: int
    unit_price: int
    gross: int
    discount: int
    credit: int
    to_pay: int
    coupon_discounts: dict[str, int]


@dataclass(frozen=True)
class Quote:
    subtotal: int
    shipping_fee: int
    shipping_discount: int
    shipping_credit: int
    discount: int  # every coupon's discount, shipping included
    credit: int
    total_to_pay: int
    coupon_ids: list[str]
    coupon_discounts: dict[str, int]
    lines: list[QuotedLine]
    explanations: list[Explanation]
    hint: str | None


class NotApplicable(Exception):
    """A chosen coupon (or the credit, when coupon_id is None) cannot be used on this cart."""

    def __init__(self, coupon_id: str | None, reason: str, message: str) -> None:
        super().__init__(message)
        self.coupon_id, self.reason, self.message = coupon_id, reason, message


def quote(
    lines: list[CartLine],
    shipping_fee: int,
    coupons: list[HeldCoupon],
    *,
    use_credit: int,
    wallet_balance: int,
) -> Quote:
    """The best combination of the held coupons plus the credit the shopper chose to use."""
    options = measure_all(lines, shipping_fee, coupons)
    credit_limit = max(0, min(use_credit, wallet_balance))
    chosen = best_combination(lines, shipping_fee, options, credit_limit)
    return _result(lines, shipping_fee, options, chosen, credit_limit)


def quote_selection(
    lines: list[CartLine], shipping_fee: int, coupons: list[HeldCoupon], *, credit: int
) -> Quote:
    """Price exactly these coupons and this credit, as a reservation does.

    Raises NotApplicable when two coupons share a stacking group, a coupon saves nothing, credit
    is combined with a coupon that forbids it, or the credit exceeds what is left to pay.
    """
    options = measure_all(lines, shipping_fee, coupons)
    groups: set[str] = set()
    for option in options:
        if option.coupon.stacking_group in groups:
            raise NotApplicable(option.coupon.id, "group_taken", "one coupon per stacking group")
        groups.add(option.coupon.stacking_group)
        if credit > 0 and not option.coupon.credit_combinable:
            raise NotApplicable(
                option.coupon.id, "not_combinable_with_credit", "cannot be combined with credit"
            )
    result = _result(lines, shipping_fee, options, options, credit)
    for why in result.explanations:
        if not why.used:
            raise NotApplicable(why.coupon_id, why.reason, why.message)
    if result.credit != credit:
        raise NotApplicable(None, "credit_too_high", "the credit exceeds what is left to pay")
    return result


def _result(
    lines: list[CartLine],
    shipping_fee: int,
    options: list[Option],
    chosen: list[Option],
    credit_limit: int,
) -> Quote:
    applied: Applied = apply(lines, shipping_fee, chosen, credit_limit)
    explanations, hint = explain(options, applied, chosen, shipping_fee)
    used = [cid for cid in applied.coupon_ids if applied.coupon_discounts[cid] > 0]
    quoted = []
    for line, discounts, credit in zip(
        lines, applied.line_discounts, applied.line_credits, strict=True
    ):
        discount = sum(discounts.values())
        quoted.append(
            QuotedLine(
                line.sku,
                line.quantity,
                line.unit_price,
                line.gross,
                discount,
                credit,
                line.gross - discount - credit,
                discounts,
            )
        )
    return Quote(
        subtotal=sum(line.gross for line in lines),
        shipping_fee=shipping_fee,
        shipping_discount=applied.shipping_discount,
        shipping_credit=applied.shipping_credit,
        discount=sum(applied.coupon_discounts.values()),
        credit=applied.credit,
        total_to_pay=applied.total_to_pay,
        coupon_ids=used,
        coupon_discounts={cid: applied.coupon_discounts[cid] for cid in used},
        lines=quoted,
        explanations=explanations,
        hint=hint,
    )
