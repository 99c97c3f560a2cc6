"""Sessions for shoppers and API keys for a shop's operators and store.

Secrets are random (secrets module) and only their SHA-256 is stored.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.auth.models import ApiKey, Shop, Shopper, ShopperSession
from kinsave.auth.schemas import ShopperPrincipal, ShopPrincipal
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger

KEY_PREFIX = {"operator": "ks_op_", "store": "ks_store_"}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_shopper(session: Session, shopper_id: str, display_name: str | None = None) -> Shopper:
    """The shopper with this sign-in id, created (with a wallet) on first sight."""
    shopper = session.get(Shopper, shopper_id)
    if shopper is None:
        shopper = Shopper(
            id=shopper_id, display_name=display_name or shopper_id, created_at=utcnow()
        )
        session.add(shopper)
        session.flush()
        ledger.wallet_account(session, shopper_id)
    return shopper


def shopper_exists(session: Session, shopper_id: str) -> bool:
    return session.get(Shopper, shopper_id) is not None


def display_names(session: Session, shopper_ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(Shopper.id, Shopper.display_name).where(Shopper.id.in_(shopper_ids))
    )
    return {row[0]: row[1] for row in rows}


def start_session(
    session: Session, shopper_id: str, *, channel: str, ttl_seconds: int
) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(
        ShopperSession(
            token_hash=_hash(token),
            shopper_id=shopper_id,
            channel=channel,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return token, expires_at


def resolve_session(session: Session, token: str) -> ShopperPrincipal:
    row = session.get(ShopperSession, _hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise KinsaveError("unauthorized", "the session token is unknown, expired or revoked")
    return ShopperPrincipal(shopper_id=row.shopper_id)


def session_expires_at(session: Session, token: str) -> datetime:
    """When a session (known to be valid) expires; lets a cache forget it in time."""
    row = session.get(ShopperSession, _hash(token))
    assert row is not None
    return row.expires_at


def revoke_session(session: Session, token: str) -> None:
    row = session.get(ShopperSession, _hash(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def ensure_shop(session: Session, name: str) -> Shop:
    shop = session.execute(select(Shop).where(Shop.name == name)).scalar_one_or_none()
    if shop is None:
        shop = Shop(id="shop_" + secrets.token_hex(6), name=name, created_at=utcnow())
        session.add(shop)
        session.flush()
    return shop


def create_api_key(session: Session, shop_id: str, role: str) -> str:
    """Issue a key for the shop; the plain key is returned once and never stored."""
    if role not in KEY_PREFIX:
        raise KinsaveError("invalid_request", f"unknown key role {role!r}")
    key = KEY_PREFIX[role] + secrets.token_urlsafe(24)
    session.add(
        ApiKey(
            key_hash=_hash(key),
            prefix=key[: len(KEY_PREFIX[role]) + 4],
            shop_id=shop_id,
            role=role,
            created_at=utcnow(),
        )
    )
    session.flush()
    return key


def resolve_api_key(session: Session, key: str, role: str) -> ShopPrincipal:
    row = session.get(ApiKey, _hash(key))
    if row is None or row.revoked_at is not None:
        raise KinsaveError("unauthorized", "the API key is unknown or revoked")
    if row.role != role:
        raise KinsaveError("forbidden", f"this endpoint needs a {role} key")
    return ShopPrincipal(shop_id=row.shop_id, role=row.role)
