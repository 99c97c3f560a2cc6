"""checkout's data: two shops, linked shoppers holding each shop's coupons and credit.

Every shopper links both shops' stores (a store must be linked before it quotes) and holds
credit of each shop, in that shop's wallet: the checks compare each (shopper, shop) wallet alone.
"""

import random
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.coupons import claims
from kinsave.coupons import service as coupons
from kinsave.coupons.schemas import ScopeIn, TemplateIn
from kinsave.db import unit_of_work, utcnow
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from kinsave.storelinks import service as storelinks

TEMPLATES_PER_SHOP = 8
CREDIT = (3000, 1500)  # what each of the two shops grants every shopper
LINES = 10
SKUS = 40


def link_shopper(session: Session, shop_id: str, shopper_id: str) -> None:
    """The shopper lets the shop's store act for them (as if the store exchanged their code)."""
    auth.ensure_shopper(session, shopper_id)
    storelinks.link_shopper(session, shop_id, shopper_id, utcnow())


def grant_credit(session: Session, shop_id: str, shopper_id: str, amount: int) -> None:
    """The shop gives the shopper `amount` of its own store credit (a ledger transfer)."""
    ledger.transfer(
        session,
        from_account_id=ledger.open_account(session, AccountKind.SHOP_FUNDING, shop_id, shop_id),
        to_account_id=ledger.wallet_account(session, shopper_id, shop_id),
        amount=amount,
        kind="bench_credit",
        key=f"bench-credit:{shop_id}:{shopper_id}",
        reference=shop_id,
    )


def wallet_balance(session: Session, shopper_id: str, shop_id: str) -> int:
    """The shopper's credit spendable at this shop."""
    return ledger.wallet_balance(session, shopper_id, shop_id)


def redeemed_at(session: Session, shop_id: str) -> int:
    """Credit the shop's store has redeemed so far (net of refunds)."""
    return ledger.balance_of(session, AccountKind.SHOP_REDEEMED, shop_id, shop_id)


@dataclass
class Seeded:
    shop_ids: list[str]
    store_keys: list[str]
    shoppers: list[str]
    wallets: dict[tuple[str, str], int]  # (shopper, shop) -> balance before the run
    redeemed: dict[str, int]  # shop -> its SHOP_REDEEMED balance before the run
    carts: list[list[tuple[str, int, int]]] = field(default_factory=list)  # per order


def second_shop(session_factory: sessionmaker[Session], first_shop: str) -> str:
    with unit_of_work(session_factory) as session:
        return auth.ensure_shop(session, f"Bench shop B of {first_shop}").id


def seed(
    session_factory: sessionmaker[Session],
    shop_ids: list[str],
    shoppers: list[str],
    rng: random.Random,
) -> Seeded:
    """A store key per shop; every shopper linked to both shops, holding one coupon of each of
    the shop's templates and the shop's credit."""
    with unit_of_work(session_factory) as session:
        keys = [auth.create_api_key(session, shop, "store") for shop in shop_ids]
        templates = {
            shop: [
                coupons.create_template(session, shop, _template(rng, shop, n)).id
                for n in range(TEMPLATES_PER_SHOP)
            ]
            for shop in shop_ids
        }
        wallets = {(p, s): wallet_balance(session, p, s) for p in shoppers for s in shop_ids}
        redeemed = {shop: redeemed_at(session, shop) for shop in shop_ids}
    for shopper in shoppers:
        with unit_of_work(session_factory) as session:
            for shop, credit in zip(shop_ids, CREDIT, strict=True):
                link_shopper(session, shop, shopper)
                for template_id in templates[shop]:
                    claims.claim_coupon(session, shopper, template_id)
                grant_credit(session, shop, shopper, credit)
    return Seeded(shop_ids, keys, shoppers, wallets, redeemed)


def _template(rng: random.Random, shop: str, n: int) -> TemplateIn:
    kind = rng.choice(["amount_off", "percent_off", "threshold", "free_shipping"])
    skus = sorted(rng.sample([f"sku{i}" for i in range(SKUS)], 12))
    return TemplateIn(
        name=f"{shop} coupon {n}",
        kind=kind,
        amount=rng.choice([300, 500, 1000]) if kind in ("amount_off", "threshold") else 0,
        percent=rng.choice([5, 10, 15]) if kind == "percent_off" else 0,
        cap=rng.choice([0, 1000]),
        threshold=rng.choice([5000, 9900]) if kind == "threshold" else 0,
        stock=100_000,
        valid_days=30,
        stacking_group=f"g{rng.randint(1, 4)}",
        credit_combinable=rng.random() < 0.8,
        scope=ScopeIn(skus=skus) if rng.random() < 0.3 else ScopeIn(),
    )


def cart(rng: random.Random) -> list[tuple[str, int, int]]:
    """(sku, quantity, unit price) lines of one order."""
    skus = rng.sample(range(SKUS), LINES)
    return [(f"sku{i}", rng.randint(1, 3), rng.randint(200, 6000)) for i in skus]
