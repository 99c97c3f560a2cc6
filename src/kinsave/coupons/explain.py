"""Why each held coupon was or was not used, and the cheapest way to unlock a better one. Pure."""

from dataclasses import dataclass

from kinsave.coupons.pricing import Applied, HeldCoupon, Option, nominal_discount


def format_money(amount: int, symbol: str = "¥") -> str:
    """Minor units as the shopper reads them: 1200 -> ¥12, 1250 -> ¥12.50."""
    whole, cents = divmod(amount, 100)
    return f"{symbol}{whole}" if cents == 0 else f"{symbol}{whole}.{cents:02d}"


# Not frozen: a quote builds one per held coupon (50 in the bench), and a frozen dataclass's
# __init__ (object.__setattr__ per field) cost five times a plain one's. Answers are shared by the
# checkout's quote memory: nothing may modify one after the optimiser returns it.
@dataclass(slots=True)
class Explanation:
    coupon_id: str
    name: str
    used: bool
    discount: int
    # used | out_of_scope | below_minimum | no_shipping_fee | group_taken |
    # not_combinable_with_credit | no_extra_saving
    reason: str
    message: str
    shortfall: int = 0  # how much more to spend on the coupon's scope to unlock it
    hint: str | None = None


def _scope_words(option: Option) -> str:
    coupon = option.coupon
    if coupon.scope == "store" or not coupon.scope_values:
        return ""
    return " of " + ", ".join(sorted(coupon.scope_values))


def explain_one(
    option: Option, applied: Applied, chosen_by_group: dict[str, HeldCoupon]
) -> Explanation:
    coupon = option.coupon
    if coupon.id in applied.coupon_discounts and applied.coupon_discounts[coupon.id] > 0:
        amount = applied.coupon_discounts[coupon.id]
        return Explanation(
            coupon.id, coupon.name, True, amount, "used", f"saves {format_money(amount)}"
        )
    if option.eligible == 0:
        return Explanation(
            coupon.id, coupon.name, False, 0, "out_of_scope", "no item in the cart is covered"
        )
    if option.eligible < coupon.required_spend:
        shortfall = coupon.required_spend - option.eligible
        hint = f"add {format_money(shortfall)} more{_scope_words(option)} to use {coupon.name}"
        return Explanation(coupon.id, coupon.name, False, 0, "below_minimum", hint, shortfall, hint)
    if option.nominal == 0 and coupon.kind == "set_price":
        message = f"the price is already at or below {format_money(coupon.amount)}"
        return Explanation(coupon.id, coupon.name, False, 0, "no_extra_saving", message)
    if option.nominal == 0:
        return Explanation(
            coupon.id, coupon.name, False, 0, "no_shipping_fee", "this order has no shipping fee"
        )
    taken_by = chosen_by_group.get(coupon.stacking_group)
    if taken_by is not None and taken_by.id != coupon.id:
        message = f"one coupon per group '{coupon.stacking_group}': {taken_by.name} saves more"
        return Explanation(coupon.id, coupon.name, False, 0, "group_taken", message)
    if not coupon.credit_combinable and applied.credit > 0:
        message = "cannot be combined with wallet credit, and the credit saves more"
        return Explanation(coupon.id, coupon.name, False, 0, "not_combinable_with_credit", message)
    return Explanation(
        coupon.id, coupon.name, False, 0, "no_extra_saving", "the other coupons already cover it"
    )


def explain(
    options: list[Option], applied: Applied, chosen: list[Option], shipping_fee: int
) -> tuple[list[Explanation], str | None]:
    """One explanation per held coupon, and the best unlock hint (smallest extra spend)."""
    chosen_by_group = {o.coupon.stacking_group: o.coupon for o in chosen}
    explanations = [explain_one(o, applied, chosen_by_group) for o in options]
    group_saving: dict[str, int] = {}
    for option in chosen:
        group = option.coupon.stacking_group
        group_saving[group] = applied.coupon_discounts.get(option.coupon.id, 0)
    best: tuple[int, int, str] | None = None
    hint: str | None = None
    for option, why in zip(options, explanations, strict=True):
        if why.reason != "below_minimum":
            continue
        coupon = option.coupon
        # What it would save at exactly the spend that unlocks it: a lower bound of its worth.
        worth = nominal_discount(coupon, coupon.required_spend, shipping_fee)
        if worth <= group_saving.get(coupon.stacking_group, 0):
            continue
        candidate = (why.shortfall, -worth, coupon.id)
        if best is None or candidate < best:
            best, hint = candidate, why.hint
    return explanations, hint
