"""Store links: the shopper issues a link code for a shop, the shop's store exchanges it once for
the shopper id, and from then on that store may act for the shopper until they unlink.

Codes are random (secrets), stored as SHA-256 only, short-lived and bound to the shop they were
issued for; an exchange uses a code by one conditional UPDATE (`used_at IS NULL AND expires_at >
now`), so two racing exchanges give exactly one shopper id. A link is one row per (shop, shopper):
its primary key makes `require_link`, which sits on the checkout's hot path, a single read.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kinsave.auth import service as auth
from kinsave.coupons import service as coupons
from kinsave.db import insert_on_conflict
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.storelinks.models import LinkCode, StoreLink
from kinsave.storelinks.schemas import (
    LinkCodeOut,
    LinkExchangeOut,
    ShopperCouponsOut,
    ShopperWalletOut,
    StoreLinkListOut,
    StoreLinkOut,
)

CODE_PREFIX = "ksl_"
# The guard's condition, for statements that read it together with other things (the checkout
# quote reads link, wallet, policy and coupons in one round trip: coupons/quote_inputs.py).
LINKED_SQL = (
    "EXISTS (SELECT 1 FROM store_link WHERE store_link.shop_id = :shop_id"
    " AND store_link.shopper_id = :shopper_id AND store_link.unlinked_at IS NULL)"
)
_LINKED = text(f"SELECT {LINKED_SQL}")


def linked_condition(
    shop_id: ColumnElement[str], shopper_id: ColumnElement[str]
) -> ColumnElement[bool]:
    """require_link's condition over another statement's columns, for a change that checks the
    link in its own statement (the checkout's paid: one round trip less per order)."""
    return exists().where(
        StoreLink.shop_id == shop_id,
        StoreLink.shopper_id == shopper_id,
        StoreLink.unlinked_at.is_(None),
    )


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def require_link(session: Session, shop_id: str, shopper_id: str) -> None:
    """Refuse unless the shopper linked this shop's store (and has not unlinked since).

    One primary-key read. Errors: shopper_not_linked (403), also for an unknown shopper.
    """
    linked = session.execute(_LINKED, {"shop_id": shop_id, "shopper_id": shopper_id}).scalar()
    if not linked:
        raise not_linked()


def not_linked() -> KinsaveError:
    """The refusal of a store call for a shopper who has not linked this store (403)."""
    return KinsaveError(
        "shopper_not_linked", "the shopper has not linked their account to this store"
    )


def issue_link_code(
    session: Session, shopper_id: str, shop_id: str, *, ttl_seconds: int, now: datetime
) -> LinkCodeOut:
    """A new single-use code the shop's store can exchange for this shopper's id until it
    expires (ttl_seconds). Errors: not_found (no such shop)."""
    if not auth.shop_exists(session, shop_id):
        raise KinsaveError("not_found", "no such shop")
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(
        LinkCode(
            code_hash=_hash(code),
            shop_id=shop_id,
            shopper_id=shopper_id,
            created_at=now,
            expires_at=expires_at,
            used_at=None,
        )
    )
    session.flush()
    return LinkCodeOut(code=code, shop_id=shop_id, expires_at=expires_at)


def exchange_link_code(session: Session, shop_id: str, code: str, now: datetime) -> LinkExchangeOut:
    """The store turns a code issued for its shop into the shopper's id and the link begins.

    Single use, even under concurrent exchanges. Errors: link_code_invalid (unknown, used, or
    issued for another shop), link_code_expired.
    """
    used = session.execute(
        update(LinkCode)
        .where(
            LinkCode.code_hash == _hash(code),
            LinkCode.shop_id == shop_id,
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(LinkCode.shopper_id)
        .execution_options(synchronize_session=False)
    ).first()
    if used is None:
        row = session.get(LinkCode, _hash(code))
        if row is not None and row.shop_id == shop_id and row.used_at is None:
            raise KinsaveError("link_code_expired", "the link code has expired")
        raise KinsaveError("link_code_invalid", "the link code is unknown or already used")
    link_shopper(session, shop_id, used.shopper_id, now)
    return LinkExchangeOut(shopper_id=used.shopper_id, linked_at=now)


def link_shopper(session: Session, shop_id: str, shopper_id: str, now: datetime) -> None:
    """Begin (or begin again) the link of this shopper to this shop's store."""
    statement = insert_on_conflict(session, StoreLink).values(
        shop_id=shop_id, shopper_id=shopper_id, linked_at=now, unlinked_at=None
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["shop_id", "shopper_id"],
            set_={"linked_at": now, "unlinked_at": None},
        )
    )


def list_links(session: Session, shopper_id: str) -> StoreLinkListOut:
    """The shopper's live links, oldest first."""
    rows = session.execute(
        select(StoreLink.shop_id, StoreLink.linked_at)
        .where(StoreLink.shopper_id == shopper_id, StoreLink.unlinked_at.is_(None))
        .order_by(StoreLink.linked_at, StoreLink.shop_id)
    ).all()
    names = auth.shop_names(session, [row.shop_id for row in rows])
    return StoreLinkListOut(
        links=[
            StoreLinkOut(
                shop_id=row.shop_id, shop_name=names.get(row.shop_id, ""), linked_at=row.linked_at
            )
            for row in rows
        ]
    )


def unlink(session: Session, shopper_id: str, shop_id: str, now: datetime) -> None:
    """End the link: from now on the store is refused (codes not yet exchanged die with it).

    Errors: not_found (no live link to this shop).
    """
    ended = session.execute(
        update(StoreLink)
        .where(
            StoreLink.shop_id == shop_id,
            StoreLink.shopper_id == shopper_id,
            StoreLink.unlinked_at.is_(None),
        )
        .values(unlinked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(LinkCode)
        .where(
            LinkCode.shop_id == shop_id,
            LinkCode.shopper_id == shopper_id,
            LinkCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not ended.rowcount:  # type: ignore[attr-defined]
        raise KinsaveError("not_found", "this shop's store is not linked")


def is_linked(session: Session, shop_id: str, shopper_id: str) -> bool:
    try:
        require_link(session, shop_id, shopper_id)
    except KinsaveError:
        return False
    return True


def shopper_wallet(session: Session, shop_id: str, shopper_id: str) -> ShopperWalletOut:
    """The linked shopper's credit the store may spend. Errors: shopper_not_linked."""
    require_link(session, shop_id, shopper_id)
    balance = ledger.wallet_balance(session, shopper_id, shop_id)
    return ShopperWalletOut(shopper_id=shopper_id, shop_id=shop_id, balance=balance)


def shopper_coupons(
    session: Session, shop_id: str, shopper_id: str, now: datetime
) -> ShopperCouponsOut:
    """The linked shopper's coupons of this shop, newest first. Errors: shopper_not_linked."""
    require_link(session, shop_id, shopper_id)
    held = coupons.my_coupons(session, shopper_id, shop_id=shop_id, now=now)
    return ShopperCouponsOut(shopper_id=shopper_id, shop_id=shop_id, coupons=held.coupons)
