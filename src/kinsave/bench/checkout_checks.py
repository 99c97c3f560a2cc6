"""checkout's invariants, per order, per shopper and per shop, against what each answer said.

- every step answered, and the reserve holds what the last quote chose (coupons, credit, total);
- each quote keeps the optimiser's invariants (bench/quote.py);
- coupons used once: no coupon in two orders, and each is `used` (or `available` again after its
  order's refund) in the database;
- wallets: each shopper's balance is what it was, plus each shop's grant, minus the credit each
  order took, plus the credit each refund returned; never negative;
- credit never crosses shops: an order spends at most its own shop's grant, and each shop's
  redeemed credit grew by exactly its own orders' credit net of their refunds.
Conservation and reconcile are checked by the runner (ledger.service.reconcile).
"""

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.bench import checkout_seed
from kinsave.bench.quote import quote_problems
from kinsave.coupons.models import Coupon

if TYPE_CHECKING:
    from kinsave.bench.checkout import Order

STEPS = ("quote0", "quote1", "quote2", "reserve", "paid")


def order_problems(
    session: Session, seeded: checkout_seed.Seeded, orders: "list[Order]", shipping: int
) -> list[str]:
    problems: list[str] = []
    spent: dict[tuple[str, int], int] = defaultdict(int)  # (shopper, shop) -> net credit
    coupon_orders: dict[str, list[str]] = defaultdict(list)
    expected_state: dict[str, str] = {}
    for order in orders:
        mine = _one_order(order, shipping)
        problems += [f"{order.order_id} ({order.shopper}): {p}" for p in mine]
        if mine:
            continue
        reserve, refund = order.answers["reserve"], order.answers.get("refund")
        returned = refund["credit_returned"] if refund else 0
        spent[(order.shopper, order.shop)] += reserve["credit"] - returned
        for coupon_id in reserve["coupons"]:
            coupon_orders[coupon_id].append(order.order_id)
            expected_state[coupon_id] = "available" if refund else "used"
    problems += [
        f"coupon {c} in orders {', '.join(ids)}" for c, ids in coupon_orders.items() if len(ids) > 1
    ]
    problems += _coupon_states(session, expected_state)
    problems += _wallets(session, seeded, spent)
    problems += _shops(session, seeded, spent)
    return problems


def _one_order(order: "Order", shipping: int) -> list[str]:
    steps = STEPS + (("refund",) if order.refund else ())
    missing = [s for s in steps if not order.answers.get(s) or "error" in order.answers[s]]
    if missing:
        return [f"no answer to {', '.join(missing)}"]
    limit = checkout_seed.CREDIT[order.shop]
    problems = [p for s in STEPS[:3] for p in quote_problems(order.answers[s], shipping, limit)]
    quote, reserve = order.answers["quote2"], order.answers["reserve"]
    for name in ("total_to_pay", "credit", "discount"):
        if reserve[name] != quote[name]:
            problems.append(f"reserved {name} {reserve[name]}, the quote said {quote[name]}")
    if sorted(reserve["coupons"]) != sorted(quote["coupons"]):
        problems.append("reserved other coupons than the quote chose")
    if reserve["credit"] > limit:
        problems.append(f"spent {reserve['credit']} of credit, the shop granted {limit}")
    paid = order.answers["paid"]
    if paid["status"] != "paid" or paid["credit"] != reserve["credit"]:
        problems.append(f"paid answered {paid['status']} with credit {paid['credit']}")
    refund: dict[str, Any] | None = order.answers.get("refund")
    if refund is not None:
        if refund["credit_returned"] != reserve["credit"] or refund["order_status"] != "refunded":
            returned, status = refund["credit_returned"], refund["order_status"]
            problems.append(f"refund returned {returned} of credit ({status})")
        if sorted(refund["coupons_restored"]) != sorted(reserve["coupons"]):
            problems.append("the refund did not restore the order's coupons")
    return problems


def _coupon_states(session: Session, expected: dict[str, str]) -> list[str]:
    if not expected:
        return []
    rows = session.execute(select(Coupon.id, Coupon.state).where(Coupon.id.in_(list(expected))))
    actual = {coupon_id: state for coupon_id, state in rows}
    return [
        f"coupon {c} is {actual.get(c)}, its order says {state}"
        for c, state in expected.items()
        if actual.get(c) != state
    ]


def _wallets(
    session: Session, seeded: checkout_seed.Seeded, spent: dict[tuple[str, int], int]
) -> list[str]:
    """Each shopper's wallet at each shop against the answers."""
    problems = []
    shops = seeded.shop_ids
    for shopper in seeded.shoppers:
        deltas = [checkout_seed.CREDIT[i] - spent[(shopper, i)] for i in range(len(shops))]
        pairs = [
            (shop, seeded.wallets[(shopper, shop)] + d)
            for shop, d in zip(shops, deltas, strict=True)
        ]
        for shop, expected in pairs:
            actual = checkout_seed.wallet_balance(session, shopper, shop)
            if actual != expected or actual < 0:
                problems.append(f"wallet of {shopper} at {shop}: {actual}, answers say {expected}")
    return problems


def _shops(
    session: Session, seeded: checkout_seed.Seeded, spent: dict[tuple[str, int], int]
) -> list[str]:
    """Each shop redeemed exactly its own orders' credit: none came from the other shop."""
    problems = []
    for index, shop in enumerate(seeded.shop_ids):
        expected = seeded.redeemed[shop] + sum(v for (_, i), v in spent.items() if i == index)
        actual = checkout_seed.redeemed_at(session, shop)
        if actual != expected:
            problems.append(f"shop {shop} redeemed {actual}, its orders say {expected}")
    return problems
