"""The checkout optimiser: which held coupons, with how much wallet credit, make an order cheapest.

Pure: no database, no web. The pricing rules live in pricing.py; this module searches them.
"Best" is the lowest total to pay; ties go to fewer coupons, then to the soonest-expiring (then
lowest id) coupons, so the same cart always gets the same answer.
"""

from dataclasses import dataclass
from datetime import datetime

from kinsave.coupons.explain import Explanation, explain
from kinsave.coupons.pricing import (
    Applied,
    CartLine,
    CartPricer,
    HeldCoupon,
    Option,
    apply,
    measure_all,
)

Ranks = tuple[tuple[datetime, str], ...]  # the chosen coupons' (expiry, id), sorted
ChoiceKey = tuple[int, int, Ranks]


def choice_key(total: int, chosen: list[Option]) -> ChoiceKey:
    """Lower is better: total to pay, then fewer coupons, then soonest-expiring, lowest ids."""
    return (total, len(chosen), tuple(sorted(o.coupon.rank for o in chosen)))


def candidate_groups(options: list[Option]) -> list[list[Option]]:
    """Useful options per stacking group, best first, one per set of identical terms.

    Coupons with identical terms in one group act identically, so only the preferred one (the
    soonest to expire, then lowest id) can be in the best answer; dropping the others keeps the
    search small.
    """
    # group -> terms -> the preferred option with those terms (o.order[0] is the coupon's terms)
    preferred: dict[str, dict[object, Option]] = {}
    for option in options:
        if option.nominal <= 0:
            continue
        same_terms = preferred.setdefault(option.coupon.stacking_group, {})
        terms = option.order[0]
        kept = same_terms.get(terms)
        if kept is None or option.coupon.rank < kept.coupon.rank:
            same_terms[terms] = option
    groups = [
        sorted(kept.values(), key=lambda o: (-o.nominal, o.coupon.rank, o.order[0]))
        for kept in preferred.values()
    ]
    # Biggest savings first: a good answer early lets the bound cut more.
    groups.sort(key=lambda g: (-g[0].nominal, g[0].coupon.stacking_group))
    return groups


# What the search's bounds read from an option, computed once per quote, as a plain tuple:
# (option, rank, line nominal (0 for free shipping), cover (bit i set: it applies to line i; 0 for
# free shipping), shipping nominal (0 for a line coupon), combinable with credit), then the same
# three bounds with the most the groups after its own could add (set by _candidates).
_Candidate = tuple[Option, tuple[datetime, str], int, int, int, bool, int, int, int]


class _Search:
    """Branch and bound over stacking groups: at most one option per group, or none.

    Every combination the search reaches is a possible answer and is priced exactly at most once.
    Before a combination is priced, or extended, an upper bound on what it (or anything extending
    it) could save is compared with the best answer so far: nothing that cannot beat it, or tie it
    with fewer coupons or sooner-expiring ones, is priced or extended.

    The bound: coupons take at most their nominal discounts, and never more than the full price of
    the lines they cover; free shipping takes at most the fee; credit needs every coupon to be
    combinable with it; and nothing saves more than the whole order.
    """

    def __init__(
        self, lines: list[CartLine], shipping_fee: int, options: list[Option], credit: int
    ) -> None:
        self.credit = credit
        self.gross = [line.gross for line in lines]
        self.full = sum(self.gross) + shipping_fee
        # The full price of the lines of a cover, once per distinct cover (most options cover
        # every line, or the same few).
        self._cover_gross: dict[int, int] = {(1 << len(lines)) - 1: self.full - shipping_fee}
        self.groups = self._candidates(candidate_groups(options))
        self.chosen: list[_Candidate] = []
        self.best: list[Option] = []
        self.pricer = CartPricer(lines, shipping_fee, credit)
        self.best_key = choice_key(self.pricer.total_to_pay([]), [])
        self.best_saving = self.full - self.best_key[0]

    def _candidates(self, groups: list[list[Option]]) -> list[list[_Candidate]]:
        """Each group's options as the search reads them, and what the groups from each depth on
        could add at most (one option per group): the bounds `_extend` reads. Built from the
        last group back, so each candidate carries the most the groups after its own could add."""
        count = len(groups)
        self.rest_line_nominal = rest_line_nominal = [0] * (count + 1)
        self.rest_cover = rest_cover = [0] * (count + 1)
        self.rest_shipping = rest_shipping = [0] * (count + 1)
        made: list[list[_Candidate]] = [[]] * count
        for depth in range(count - 1, -1, -1):
            after_line_nominal = rest_line_nominal[depth + 1]
            after_cover, after_shipping = rest_cover[depth + 1], rest_shipping[depth + 1]
            most_line_nominal = any_cover = most_shipping = 0
            candidates = []
            for option in groups[depth]:
                coupon = option.coupon
                if coupon.kind == "free_shipping":
                    line_nominal, cover, shipping = 0, 0, option.nominal
                else:
                    line_nominal, cover, shipping = option.nominal, option.cover, 0
                most_line_nominal = max(most_line_nominal, line_nominal)
                any_cover |= cover
                most_shipping = max(most_shipping, shipping)
                candidates.append(
                    (
                        option,
                        coupon.rank,
                        line_nominal,
                        cover,
                        shipping,
                        coupon.credit_combinable,
                        line_nominal + after_line_nominal,
                        cover | after_cover,
                        shipping if shipping > after_shipping else after_shipping,
                    )
                )
            made[depth] = candidates
            rest_line_nominal[depth] = after_line_nominal + most_line_nominal
            rest_cover[depth] = after_cover | any_cover
            rest_shipping[depth] = max(after_shipping, most_shipping)
        return made

    def _covered_gross(self, cover: int) -> int:
        """The full price of the covered lines, once per set of lines."""
        covered = self._cover_gross.get(cover)
        if covered is None:
            covered = sum(g for i, g in enumerate(self.gross) if cover >> i & 1)
            self._cover_gross[cover] = covered
        return covered

    def _saving_bound(self, line_nominal: int, cover: int, shipping: int, combinable: bool) -> int:
        covered = self._covered_gross(cover)
        lines = line_nominal if line_nominal < covered else covered
        bound = lines + shipping + (self.credit if combinable else 0)
        return bound if bound < self.full else self.full

    def _cannot_win(self, saving_bound: int, count: int) -> bool:
        """Can no combination of `count` options saving at most `saving_bound` beat or tie the
        best? (A tie on both is settled by the coupons' ranks, which the caller compares.)"""
        best = self.best_saving
        return saving_bound < best or (saving_bound == best and count > self.best_key[1])

    def run(self) -> list[Option]:
        self._extend(0, 0, 0, 0, True)
        return self.best

    def _extend(
        self, depth: int, line_nominal: int, cover: int, shipping: int, combinable: bool
    ) -> None:
        """Every extension of the current choice by an option of group d >= depth (and more).

        The other arguments sum up the current choice the way the bounds read it.
        """
        count = len(self.chosen) + 1
        bound_of, cannot_win = self._saving_bound, self._cannot_win
        rest_line_nominal, rest_cover = self.rest_line_nominal, self.rest_cover
        rest_shipping = self.rest_shipping
        cover_gross, credit, full = self._cover_gross, self.credit, self.full
        for d in range(depth, len(self.groups)):
            bound = bound_of(
                line_nominal + rest_line_nominal[d],
                cover | rest_cover[d],
                shipping if shipping > rest_shipping[d] else rest_shipping[d],
                combinable,
            )
            # The bound only shrinks as d grows: once nothing from here on can win, stop.
            if cannot_win(bound, count):
                return
            after = d + 1
            for c in self.groups[d]:
                c_combinable = combinable and c[5]
                # With c, alone or with options after it: _saving_bound's sum, inlined (the
                # search's most frequent step).
                reach_cover = cover | c[7]
                covered = cover_gross.get(reach_cover)
                if covered is None:
                    covered = self._covered_gross(reach_cover)
                reach = line_nominal + c[6]
                reach = (
                    (reach if reach < covered else covered)
                    + (shipping if shipping > c[8] else c[8])
                    + (credit if c_combinable else 0)
                )
                if cannot_win(reach if reach < full else full, count):
                    continue
                c_line_nominal = line_nominal + c[2]
                c_cover = cover | c[3]
                c_shipping = shipping if shipping > c[4] else c[4]
                self.chosen.append(c)
                own = bound_of(c_line_nominal, c_cover, c_shipping, c_combinable)
                if own == self.full:
                    # It may make the order free: if so, nothing added to it can win. Price it
                    # before its extensions, which the answer then cuts.
                    self._price_chosen(own)
                    self._extend(after, c_line_nominal, c_cover, c_shipping, c_combinable)
                else:
                    # Its extensions may save more: price them first, a better answer found
                    # there lets the bound skip pricing this one.
                    self._extend(after, c_line_nominal, c_cover, c_shipping, c_combinable)
                    self._price_chosen(own)
                self.chosen.pop()

    def _price_chosen(self, bound: int) -> None:
        """Price the current choice exactly, unless its bound (what it could save at most) shows
        it cannot beat the best."""
        count = len(self.chosen)
        if self._cannot_win(bound, count):
            return
        ranks: Ranks = tuple(sorted([c[1] for c in self.chosen]))
        if bound == self.best_saving and count == self.best_key[1]:
            if ranks >= self.best_key[2]:  # at best a tie that loses on the coupons' ranks
                return
        options = [c[0] for c in self.chosen]
        total = self.pricer.total_to_pay(options)
        key = (total, count, ranks)
        if key < self.best_key:
            self.best_key, self.best = key, options
            self.best_saving = self.full - total


def best_combination(
    lines: list[CartLine], shipping_fee: int, options: list[Option], credit_limit: int
) -> list[Option]:
    """The chosen options of the best answer (see the module docstring for "best")."""
    return _Search(lines, shipping_fee, options, credit_limit).run()


@dataclass(slots=True)  # not frozen, as Explanation (explain.py): one per cart line
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
    subtotal = 0
    for (sku, quantity, unit_price, _), discounts, credit in zip(
        lines, applied.line_discounts, applied.line_credits, strict=True
    ):
        gross = quantity * unit_price  # CartLine.gross, without a property call per line
        subtotal += gross
        discount = sum(discounts.values()) if discounts else 0
        quoted.append(
            QuotedLine(
                sku,
                quantity,
                unit_price,
                gross,
                discount,
                credit,
                gross - discount - credit,
                discounts,
            )
        )
    return Quote(
        subtotal=subtotal,
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
