"""Sessions for shoppers and API keys for a shop's operators and store (a host's sign-in, which
starts a session, is auth/host_sign_in.py).

Secrets are random (secrets module) and only their SHA-256 is stored. A host sign-in also keeps
the shopper's channel identity (remember_channel_identity) for anti-fraud.
"""

import hashlib
import secrets
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from kinsave.auth import shared_sessions
from kinsave.auth.models import ApiKey, ChannelIdentity, Shop, Shopper, ShopperSession
from kinsave.auth.schemas import ShopperPrincipal, ShopPrincipal
from kinsave.db import insert_on_conflict, utcnow
from kinsave.errors import KinsaveError

KEY_PREFIX = {"operator": "ks_op_", "store": "ks_store_"}
KEY_ACCESS = ("full", "read")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def session_token_hash(token: str) -> str:
    """What identifies a session in storage and in Redis (shared_sessions.py): its SHA-256."""
    return _hash(token)


def api_key_hash(key: str) -> str:
    """What identifies an API key in storage and in the per-process key cache (its SHA-256)."""
    return _hash(key)


def ensure_shopper(session: Session, shopper_id: str, display_name: str | None = None) -> Shopper:
    """The shopper with this sign-in id, created on first sight (wallets open per shop, when
    credit of that shop first lands)."""
    shopper = session.get(Shopper, shopper_id)
    if shopper is None:
        session.execute(
            insert_on_conflict(session, Shopper)
            .values(id=shopper_id, display_name=display_name or shopper_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["id"])
        )
        shopper = session.get(Shopper, shopper_id)
        assert shopper is not None
    return shopper


def shopper_exists(session: Session, shopper_id: str) -> bool:
    return session.get(Shopper, shopper_id) is not None


def shop_exists(session: Session, shop_id: str) -> bool:
    return session.get(Shop, shop_id) is not None


def shop_names(session: Session, shop_ids: list[str]) -> dict[str, str]:
    rows = session.execute(select(Shop.id, Shop.name).where(Shop.id.in_(shop_ids)))
    return {row[0]: row[1] for row in rows}


# Built once: every group join reads its members' names (bench group-rush).
_DISPLAY_NAMES = select(Shopper.id, Shopper.display_name).where(
    Shopper.id.in_(bindparam("shopper_ids", expanding=True))
)


def display_names(session: Session, shopper_ids: list[str]) -> dict[str, str]:
    rows = session.execute(_DISPLAY_NAMES, {"shopper_ids": list(shopper_ids)})
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
    shared_sessions.announce_started(session, [(_hash(token), shopper_id, expires_at)])
    return token, expires_at


def resolve_session(session: Session, token: str) -> ShopperPrincipal:
    (resolved,) = resolve_sessions(session, [token])
    if isinstance(resolved, KinsaveError):
        raise resolved
    return resolved[0]


def resolve_sessions(
    session: Session, tokens: Sequence[str]
) -> list[tuple[ShopperPrincipal, datetime] | KinsaveError]:
    """Each token's shopper and when its session expires (so that a cache can forget it in
    time), or unauthorized; one read for all of them."""
    hashes = [_hash(token) for token in tokens]
    rows = {
        row.token_hash: (row.shopper_id, row.expires_at, row.revoked_at)
        for row in session.execute(
            select(
                ShopperSession.token_hash,
                ShopperSession.shopper_id,
                ShopperSession.expires_at,
                ShopperSession.revoked_at,
            ).where(ShopperSession.token_hash.in_(set(hashes)))
        )
    }
    now = utcnow()
    return [_session_answer(rows.get(token_hash), now) for token_hash in hashes]


# At most this many tokens per statement, in a few fixed shapes (1, 2, 4, ... 64 placeholders,
# the last hash repeated to fill one): the driver's statement cache keeps each shape prepared.
_SQLITE_READ_MOST = 64


def resolve_sessions_sqlite(
    driver: sqlite3.Connection, tokens: Sequence[str]
) -> list[tuple[ShopperPrincipal, datetime] | KinsaveError]:
    """resolve_sessions straight on a SQLite driver connection (no Session, no transaction: one
    statement sees one snapshot). Driver errors are the caller's."""
    hashes = [_hash(token) for token in tokens]
    rows: dict[str, tuple[str, datetime, object]] = {}
    for start in range(0, len(hashes), _SQLITE_READ_MOST):
        part = hashes[start : start + _SQLITE_READ_MOST]
        shape = 1 << (len(part) - 1).bit_length()
        statement = _SESSION_ROWS_SQLITE.format(",".join("?" * shape))
        for token_hash, shopper_id, expires_at, revoked_at in driver.execute(
            statement, part + part[-1:] * (shape - len(part))
        ):  # UTCDateTime's text on SQLite, naive UTC
            expires = datetime.fromisoformat(expires_at).replace(tzinfo=UTC)
            rows[token_hash] = (shopper_id, expires, revoked_at)
    now = utcnow()
    return [_session_answer(rows.get(token_hash), now) for token_hash in hashes]


_SESSION_ROWS_SQLITE = (
    "SELECT token_hash, shopper_id, expires_at, revoked_at FROM shopper_session"
    " WHERE token_hash IN ({})"
)


def _session_answer(
    row: tuple[str, datetime, object] | None, now: datetime
) -> tuple[ShopperPrincipal, datetime] | KinsaveError:
    """(shopper id, expires at, revoked at) of a session row: its shopper, or unauthorized."""
    if row is None or row[2] is not None or row[1] <= now:
        return KinsaveError("unauthorized", "the session token is unknown, expired or revoked")
    return ShopperPrincipal(shopper_id=row[0]), row[1]


def revoke_session(session: Session, token: str) -> None:
    """The session stops working at once, in every process: in the database, and in Redis (a
    tombstone, before the commit) when sessions are kept there (shared_sessions.py)."""
    row = session.get(ShopperSession, _hash(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        shared_sessions.announce_ended(session, [(row.token_hash, row.expires_at)])


def find_shop(session: Session, name: str) -> Shop | None:
    """The shop with exactly this name, or None (never creates one)."""
    return session.execute(select(Shop).where(Shop.name == name)).scalar_one_or_none()


def list_shop_names(session: Session, limit: int = 20) -> list[str]:
    return list(session.execute(select(Shop.name).order_by(Shop.name).limit(limit)).scalars())


def ensure_shop(session: Session, name: str) -> Shop:
    shop = session.execute(select(Shop).where(Shop.name == name)).scalar_one_or_none()
    if shop is None:
        shop = Shop(id="shop_" + secrets.token_hex(6), name=name, created_at=utcnow())
        session.add(shop)
        session.flush()
    return shop


def create_api_key(session: Session, shop_id: str, role: str, access: str = "full") -> str:
    """Issue a key for the shop; the plain key is returned once and never stored.

    `access` is "full" or "read" (a console key that may only look)."""
    if role not in KEY_PREFIX:
        raise KinsaveError("invalid_request", f"unknown key role {role!r}")
    if access not in KEY_ACCESS:
        raise KinsaveError("invalid_request", f"unknown key access {access!r}")
    key = KEY_PREFIX[role] + secrets.token_urlsafe(24)
    session.add(
        ApiKey(
            key_hash=_hash(key),
            prefix=key[: len(KEY_PREFIX[role]) + 4],
            shop_id=shop_id,
            role=role,
            scope=access,
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
    return ShopPrincipal(
        shop_id=row.shop_id, role=row.role, access=row.scope, key_prefix=row.prefix
    )


def rotate_api_key(session: Session, key: str) -> tuple[str, str]:
    """Revoke `key` and issue its replacement (same shop, role, access): (new key, its prefix).

    The revoke is a conditional UPDATE, so two rotations of one key cannot both succeed."""
    row = session.get(ApiKey, _hash(key))
    revoked = session.execute(
        update(ApiKey)
        .where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if row is None or revoked.rowcount != 1:  # type: ignore[attr-defined]
        raise KinsaveError("unauthorized", "the API key is unknown or revoked")
    new_key = create_api_key(session, row.shop_id, row.role, row.scope)
    return new_key, new_key[: len(KEY_PREFIX[row.role]) + 4]


def revoke_shop_keys(session: Session, shop_id: str, role: str) -> int:
    """Revoke every live key of this role for the shop (a leak: rotate them all)."""
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.shop_id == shop_id, ApiKey.role == role, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_shopper_sessions(session: Session, shopper_id: str) -> int:
    """End every live session of the shopper (a stolen phone), as revoke_session does each;
    returns how many."""
    ended = session.execute(
        update(ShopperSession)
        .where(ShopperSession.shopper_id == shopper_id, ShopperSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(ShopperSession.token_hash, ShopperSession.expires_at)
    ).all()
    shared_sessions.announce_ended(session, [(row[0], row[1]) for row in ended])
    return len(ended)


def remember_channel_identity(
    session: Session,
    *,
    host: str,
    host_user_id: str,
    shopper_id: str,
    app_id: str | None = None,
    union_id: str | None = None,
) -> None:
    """Keep (host, host user id) -> shopper for anti-fraud; refreshes last_seen_at.

    An upsert, so two first sign-ins racing each other both succeed.
    """
    now = utcnow()
    statement = insert_on_conflict(session, ChannelIdentity).values(
        host=host,
        host_user_id=host_user_id,
        shopper_id=shopper_id,
        app_id=app_id,
        union_id=union_id,
        created_at=now,
        last_seen_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["host", "host_user_id"],
            set_={
                "last_seen_at": now,
                "union_id": func.coalesce(statement.excluded.union_id, ChannelIdentity.union_id),
            },
        )
    )


def search_shoppers(session: Session, text: str, *, limit: int = 20) -> list[tuple[str, str]]:
    """(id, display name) of shoppers whose id is or starts with `text`, whose name contains it
    (any case), or who signed in on a host as exactly `text` (a Telegram or WeChat user id)."""
    text = text.strip()[:100]
    if not text:
        return []
    by_host = select(ChannelIdentity.shopper_id).where(ChannelIdentity.host_user_id == text)
    rows = session.execute(
        select(Shopper.id, Shopper.display_name)
        .where(
            Shopper.id.startswith(text, autoescape=True)
            | Shopper.display_name.icontains(text, autoescape=True)
            | Shopper.id.in_(by_host)
        )
        .order_by(Shopper.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def channel_identities(session: Session, shopper_id: str) -> list[tuple[str, str]]:
    """The (host, host user id) pairs a shopper signed in with: self-referral checks use them."""
    rows = session.execute(
        select(ChannelIdentity.host, ChannelIdentity.host_user_id)
        .where(ChannelIdentity.shopper_id == shopper_id)
        .order_by(ChannelIdentity.host, ChannelIdentity.host_user_id)
    )
    return [(row[0], row[1]) for row in rows]
