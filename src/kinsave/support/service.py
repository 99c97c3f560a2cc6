"""Support for a shop's operators: find a shopper the shop knows, see their wallet history at
the shop, coupons, orders and refunds, and adjust their credit by hand, audited.

A shopper is visible to a shop only when the shop has something of theirs (credit, a coupon,
an order, a store link): an operator never browses another shop's customers.
"""

import json
import secrets

from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.coupons import service as coupons
from kinsave.coupons import shopper_history
from kinsave.errors import KinsaveError, register_codes
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from kinsave.ledger.schemas import MAX_AMOUNT
from kinsave.security import audit
from kinsave.storelinks import service as storelinks
from kinsave.support.schemas import Adjustment, FoundShopper, ShopperAtShop

register_codes({"reason_required": 422})

ADJUSTMENT = "credit_adjustment"  # the transfer kind
AUDIT_ACTION = "support.credit_adjustment"
MAX_REASON = 200


def knows(session: Session, shop_id: str, shopper_id: str) -> bool:
    """Whether the shop holds credit, a coupon, an order or a store link of this shopper."""
    return (
        ledger.find_account(session, AccountKind.WALLET, shopper_id, shop_id) is not None
        or shopper_history.has_history(session, shop_id, shopper_id)
        or storelinks.is_linked(session, shop_id, shopper_id)
    )


def find_shoppers(
    session: Session, shop_id: str, text: str, *, limit: int = 20
) -> list[FoundShopper]:
    """Shoppers the shop knows by id (or its start), name, or a host's user id."""
    found = []
    for shopper_id, name in auth.search_shoppers(session, text, limit=limit * 5):
        if knows(session, shop_id, shopper_id):
            balance = ledger.wallet_balance(session, shopper_id, shop_id)
            found.append(FoundShopper(shopper_id, name, balance))
    return found[:limit]


def shopper_at_shop(session: Session, shop_id: str, shopper_id: str) -> ShopperAtShop:
    """Everything support needs about one shopper at this shop. Errors: not_found (also a
    shopper the shop does not know)."""
    if not auth.shopper_exists(session, shopper_id) or not knows(session, shop_id, shopper_id):
        raise KinsaveError("not_found", "no such shopper at this shop")
    return ShopperAtShop(
        shopper_id=shopper_id,
        display_name=auth.display_names(session, [shopper_id]).get(shopper_id, shopper_id),
        identities=auth.channel_identities(session, shopper_id),
        linked=storelinks.is_linked(session, shop_id, shopper_id),
        balance=ledger.wallet_balance(session, shopper_id, shop_id),
        history=ledger.wallet_history(session, shopper_id, shop_id=shop_id, limit=50).entries,
        coupons=coupons.my_coupons(session, shopper_id, shop_id=shop_id).coupons,
        orders=shopper_history.orders_of(session, shop_id, shopper_id),
        refunds=shopper_history.refunds_of(session, shop_id, shopper_id),
        adjustments=adjustments(session, shop_id, shopper_id),
    )


def adjust_credit(
    session: Session,
    shop_id: str,
    shopper_id: str,
    *,
    amount: int,
    reason: str,
    actor: str,
    key: str | None = None,
) -> int:
    """Add (amount > 0) or take back (amount < 0) credit of this shop by hand: one ledger
    transfer between the shop's funding account and the shopper's wallet, and an audit entry
    with the reason, in the caller's transaction. Returns the transfer id; `key` makes a retry
    book nothing twice.

    Errors: not_found, invalid_amount (zero, too large), reason_required, insufficient_funds
    (a take-back larger than the shopper's credit: no wallet goes below zero).
    """
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise KinsaveError("reason_required", "say why the credit is adjusted")
    if amount == 0 or abs(amount) > MAX_AMOUNT:
        raise KinsaveError("invalid_amount", f"an adjustment is non-zero and at most {MAX_AMOUNT}")
    if not auth.shopper_exists(session, shopper_id) or not knows(session, shop_id, shopper_id):
        raise KinsaveError("not_found", "no such shopper at this shop")
    shop = ledger.open_account(session, AccountKind.SHOP_FUNDING, shop_id, shop_id)
    wallet = ledger.wallet_account(session, shopper_id, shop_id)
    paying, receiving = (shop, wallet) if amount > 0 else (wallet, shop)
    transfer_id = ledger.transfer(
        session,
        from_account_id=paying,
        to_account_id=receiving,
        amount=abs(amount),
        kind=ADJUSTMENT,
        key=f"credit-adjustment:{shop_id}:{key or secrets.token_hex(12)}",
        reference="support",
    )
    audit.record(
        session,
        shop_id=shop_id,
        actor=actor,
        action=AUDIT_ACTION,
        target=_target(shopper_id),
        details=json.dumps(
            {"amount": amount, "reason": reason, "transfer_id": transfer_id}, ensure_ascii=False
        ),
    )
    return transfer_id


def adjustments(session: Session, shop_id: str, shopper_id: str) -> list[Adjustment]:
    """The shopper's manual adjustments at this shop, newest first, from the audit log."""
    found = []
    for entry in audit.entries_about(
        session, shop_id, action=AUDIT_ACTION, target=_target(shopper_id)
    ):
        details = json.loads(entry.details)
        found.append(Adjustment(int(details["amount"]), str(details["reason"]), entry.actor, entry))
    return found


def _target(shopper_id: str) -> str:
    return json.dumps({"shopper_id": shopper_id})
