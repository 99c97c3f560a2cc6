"""Booking transfers in batches: the one implementation of a ledger transfer.

`book` moves money for a batch of postings inside the caller's transaction; `service.transfer`
is a batch of one through the same code. Every posting gets the same checks, in order:
- the amount is a positive integer of at most MAX_AMOUNT (`invalid_amount`);
- it moves between two different accounts (`invalid_request`) that exist (`not_found`; a wallet
  named by its owner and shop, or a shop's own account named by kind and shop, is opened when
  the posting is booked);
- both accounts belong to one shop (`cross_shop_transfer`; the transfer's composite foreign keys
  refuse it in the database too);
- the paying account can pay, counting the postings before it in the batch (the posting's
  `insufficient_code`), unless it stands for outside money (NEGATIVE_ALLOWED; a CHECK constraint
  backs this up);
- its idempotency key (ledger/keys.py) was never booked: a unique index, so a repeated key raises
  IntegrityError and the caller's boundary rolls the whole transaction back; a posting with a
  `repeated_code` is refused with that code instead when its key was booked by an earlier
  transaction (read with the accounts, checked before the others; a concurrent first booking
  still meets the unique index).
A refused posting writes nothing; the others are booked as if it had not been in the batch.

Set-based, whatever the batch's size: one statement reads and locks every account of the batch
(in id order, so that two batches never wait on each other in opposite orders), and one writes
the balances and the transfer rows (on SQLite, in process, one executemany and one insert);
opening wallets adds one more, rarely. On PostgreSQL both are fixed text with array parameters,
sent as the driver's SQL: psycopg parses each once and prepares it after a few batches, and no
SQLAlchemy compilation runs per batch (an expanded IN list made new SQL text for every batch
size, parsed anew each time: half a grab batch's CPU).
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kinsave.db import (
    driver_of,
    forget_gate_after_commit,
    insert_on_conflict,
    psycopg_sql,
    sqlite_time,
    utcnow,
)
from kinsave.errors import KinsaveError
from kinsave.ledger.models import (
    DEFAULT_CURRENCY,
    NEGATIVE_ALLOWED,
    Account,
    AccountKind,
)
from kinsave.ledger.schemas import MAX_AMOUNT

_ROWS_PER_INSERT = 1000  # under SQLite's limit of bound values per statement


@dataclass(frozen=True, slots=True)
class Wallet:
    """A shopper's wallet at one shop, named by owner and shop; opened when first credited."""

    owner_id: str
    shop_id: str


@dataclass(frozen=True, slots=True)
class ShopAccount:
    """A shop's own account of one kind (its owner is the shop: SHOP_REDEEMED, SHOP_FUNDING),
    named by kind and shop: read and locked with the batch's other accounts, so a caller needs
    no lookup before booking (a paid order's SHOP_REDEEMED); opened when first booked."""

    kind: AccountKind
    shop_id: str


AccountRef = int | Wallet | ShopAccount
Named = Wallet | ShopAccount  # an account named by what it is, not by its id


@dataclass(frozen=True, slots=True)
class Posting:
    """One transfer to book: `amount` from one account to another, under a unique `key`."""

    from_account: AccountRef
    to_account: AccountRef
    amount: int
    kind: str
    key: str
    reference: str | None = None
    insufficient_code: str = "insufficient_funds"  # the refusal when the payer can not pay
    # The refusal when the key was booked by an earlier transaction (read with the accounts'
    # lock, no extra round trip); None: a repeated key raises IntegrityError (module docstring).
    repeated_code: str | None = None


@dataclass(slots=True)
class _Held:
    """An account as the batch holds it (locked), its balance moving as postings are booked."""

    id: int | None  # None: a wallet opened by this batch, once a posting to it is booked
    shop_id: str
    balance: int
    may_go_negative: bool
    budget_of: str | None = None  # the campaign, when this is a campaign's budget


def book(
    session: Session, postings: Sequence[Posting], *, now: datetime | None = None
) -> list[int | KinsaveError]:
    """Book each posting, or refuse it (module docstring); per posting, in order, the transfer's
    id or the refusal. Flushes, never commits."""
    now = now or utcnow()
    answers: list[int | KinsaveError | None] = [_invalid(p) for p in postings]
    # None below: not refused (yet); after the loop, every posting left None is booked.
    held, booked_before = _lock(
        session, [p for p, a in zip(postings, answers, strict=True) if a is None]
    )
    for index, posting in enumerate(postings):
        if answers[index] is None:
            answers[index] = _apply(posting, held, booked_before)
    _open_named(session, postings, answers, held, now)
    booked = [(i, p) for i, p in enumerate(postings) if answers[i] is None]
    if booked:
        ids = _write(session, [p for _, p in booked], held, now)
        for index, posting in booked:
            answers[index] = ids[posting.key]
            if (campaign_id := held[posting.to_account].budget_of) is not None:
                # A budget went up: its daily gate reads it anew once this commits (gates/).
                forget_gate_after_commit(session, f"camp:{campaign_id}")
    return [answer for answer in answers if answer is not None]  # all set by now


def _invalid(posting: Posting) -> KinsaveError | None:
    amount = posting.amount
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return KinsaveError("invalid_amount", "a transfer moves a positive amount")
    if amount > MAX_AMOUNT:
        return KinsaveError("invalid_amount", f"a transfer moves at most {MAX_AMOUNT}")
    if posting.from_account == posting.to_account:
        return KinsaveError("invalid_request", "a transfer moves between two accounts")
    return None


def _apply(
    posting: Posting, held: dict[AccountRef, _Held], booked_before: set[str]
) -> KinsaveError | None:
    """Book the posting against the held balances, or say why not (nothing changed then)."""
    if posting.repeated_code is not None and posting.key in booked_before:
        return KinsaveError(posting.repeated_code, "this was booked already")
    source = held.get(posting.from_account)
    target = held.get(posting.to_account)
    if target is None and isinstance(posting.to_account, Named):
        target = held[posting.to_account] = _unopened(posting.to_account)
    if source is None and isinstance(posting.from_account, Named):  # never opened: holds 0
        if not _unopened(posting.from_account).may_go_negative:
            return KinsaveError(posting.insufficient_code, "not enough money in the paying account")
        source = held[posting.from_account] = _unopened(posting.from_account)
    if source is None or target is None:
        return KinsaveError("not_found", "no such account")
    if source is target:  # one account named twice (by id and as a wallet)
        return KinsaveError("invalid_request", "a transfer moves between two accounts")
    if source.shop_id != target.shop_id:
        return KinsaveError("cross_shop_transfer", "credit can not move between two shops")
    if source.balance < posting.amount and not source.may_go_negative:
        return KinsaveError(posting.insufficient_code, "not enough money in the paying account")
    source.balance -= posting.amount
    target.balance += posting.amount
    return None


def _unopened(ref: Named) -> _Held:
    """A named account not opened yet: balance 0, opened by _open_named if a posting books."""
    kind = ref.kind if isinstance(ref, ShopAccount) else AccountKind.WALLET
    return _Held(None, ref.shop_id, 0, kind in NEGATIVE_ALLOWED)


def _lock(
    session: Session, postings: Sequence[Posting]
) -> tuple[dict[AccountRef, _Held], set[str]]:
    """Every account the postings name, read and locked in one statement, in id order; and
    which of the keys of postings with a `repeated_code` were booked before (same round trip)."""
    refs = {ref for p in postings for ref in (p.from_account, p.to_account)}
    keys = [p.key for p in postings if p.repeated_code is not None]
    return _lock_refs(session, refs, keys)


# NO KEY UPDATE, the lock an UPDATE of the balance takes: FOR UPDATE would also wait on the KEY
# SHARE locks that other transactions' new transfer rows hold on the accounts. Conditions on the
# account row alone (no join, no sub-select): a row updated by a concurrent transaction is
# re-checked against them once its lock is granted; a sub-select there lost such rows (answered
# not_found under a daily rush). Fixed text with array parameters, sent as the driver's SQL: parsed
# once, prepared by psycopg after a few batches, no SQLAlchemy compilation per batch. Wallets are
# matched by owner and by shop separately, so an owner's wallet at another shop of the same batch
# is locked too (harmless: in id order, and a batch's postings name one or two shops). A shop's own
# accounts (ShopAccount) likewise, by kind and shop, the shop being their owner.
_PG_LOCK = """
    WITH locked AS (
        SELECT id, kind, owner_id, shop_id, balance, may_go_negative FROM ledger_account
        WHERE id = ANY(CAST(%(ids)s AS bigint[]))
           OR (kind = 'wallet' AND owner_id = ANY(CAST(%(owners)s AS text[]))
               AND shop_id = ANY(CAST(%(shops)s AS text[])))
           OR (kind = ANY(CAST(%(shop_kinds)s AS text[]))
               AND owner_id = ANY(CAST(%(own_shops)s AS text[])) AND shop_id = owner_id)
        ORDER BY id
        FOR NO KEY UPDATE
    )
    SELECT id, kind, owner_id, shop_id, balance, may_go_negative, NULL AS booked_key FROM locked
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, idempotency_key FROM ledger_transfer
    WHERE idempotency_key = ANY(CAST(%(keys)s AS text[]))
"""


def _lock_refs(
    session: Session, refs: set[AccountRef], keys: Sequence[str] = ()
) -> tuple[dict[AccountRef, _Held], set[str]]:
    ids = [ref for ref in refs if isinstance(ref, int)]
    wallets = [ref for ref in refs if isinstance(ref, Wallet)]
    own = [ref for ref in refs if isinstance(ref, ShopAccount)]
    if not ids and not wallets and not own:
        return {}, set()
    params: dict[str, list[Any]] = {
        "ids": ids,
        "owners": sorted({w.owner_id for w in wallets}),
        "shops": sorted({w.shop_id for w in wallets}),
        "shop_kinds": sorted({a.kind.value for a in own}),
        "own_shops": sorted({a.shop_id for a in own}),
        "keys": list(keys),
    }
    if session.get_bind().dialect.name == "postgresql":
        rows: Sequence[Any] = session.connection().exec_driver_sql(_PG_LOCK, params).all()
    else:
        rows = _sqlite_read(session, params)
    held: dict[AccountRef, _Held] = {}
    booked_before: set[str] = set()
    for account_id, kind, owner_id, shop_id, balance, may_go_negative, booked_key in rows:
        if booked_key is not None:
            booked_before.add(booked_key)
            continue
        budget_of = owner_id if kind == AccountKind.CAMPAIGN_BUDGET.value else None
        account = _Held(account_id, shop_id, balance, bool(may_go_negative), budget_of)
        held[account_id] = account
        if kind == AccountKind.WALLET.value:
            held[Wallet(owner_id, shop_id)] = account
        elif owner_id == shop_id:
            held[ShopAccount(AccountKind(kind), shop_id)] = account
    return held, booked_before


# SQLite: the same read as one statement of fixed text (lists as JSON parameters), which sqlite3
# keeps compiled, sent on the driver's connection in the session's transaction (db.driver_of: no
# SQLAlchemy work per statement); no lock to take (the one writer holds the database).
_SQLITE_READ = """
    SELECT id, kind, owner_id, shop_id, balance, may_go_negative, NULL FROM ledger_account
    WHERE id IN (SELECT value FROM json_each(:ids))
       OR (kind = 'wallet' AND owner_id IN (SELECT value FROM json_each(:owners))
           AND shop_id IN (SELECT value FROM json_each(:shops)))
       OR (kind IN (SELECT value FROM json_each(:shop_kinds))
           AND owner_id IN (SELECT value FROM json_each(:own_shops)) AND shop_id = owner_id)
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, idempotency_key FROM ledger_transfer
    WHERE idempotency_key IN (SELECT value FROM json_each(:keys))
"""


def _sqlite_read(session: Session, params: dict[str, list[Any]]) -> list[Any]:
    as_json = {name: json.dumps(values) for name, values in params.items()}
    with driver_of(session) as driver:
        return list(driver.execute(_SQLITE_READ, as_json))


def _open_named(
    session: Session,
    postings: Sequence[Posting],
    answers: Sequence[object],
    held: dict[AccountRef, _Held],
    now: datetime,
) -> None:
    """Open the named accounts (wallets, a shop's own) that booked postings move money in or
    out of for the first time, and lock them."""
    new = sorted(
        {
            ref
            for p, answer in zip(postings, answers, strict=True)
            if answer is None
            for ref in (p.from_account, p.to_account)
            if isinstance(ref, Named) and held[ref].id is None
        },
        key=_row_key,
    )
    if not new:
        return
    _insert_named(session, new, now)
    # Opened now, or a moment ago by a concurrent first credit. Balances move by deltas, so
    # the stored one stays right either way; the batch counts only what it credited itself.
    for ref, account in _lock_refs(session, set(new))[0].items():
        if isinstance(ref, Named) and ref in held:
            held[ref].id = account.id


def open_wallets(
    session: Session, wallets: Sequence[Wallet], *, now: datetime | None = None
) -> None:
    """Open these wallets at balance 0, in one statement; a wallet already open stays as it is.
    (A wallet also opens by itself with its first credit; this is for seeding many at once.)"""
    _insert_named(session, wallets, now or utcnow())


def _insert_named(session: Session, refs: Sequence[Named], now: datetime) -> None:
    for start in range(0, len(refs), _ROWS_PER_INSERT):
        session.execute(
            insert_on_conflict(session, Account)
            .values([_named_row(ref, now) for ref in refs[start : start + _ROWS_PER_INSERT]])
            .on_conflict_do_nothing(index_elements=["kind", "owner_id", "shop_id"])
        )


def _row_key(ref: Named) -> tuple[str, str, str]:
    """(kind, owner, shop): the accounts' unique key, the order they are opened in."""
    if isinstance(ref, Wallet):
        return AccountKind.WALLET.value, ref.owner_id, ref.shop_id
    return ref.kind.value, ref.shop_id, ref.shop_id


def _named_row(ref: Named, now: datetime) -> dict[str, object]:
    kind, owner_id, shop_id = _row_key(ref)
    return {
        "kind": kind,
        "owner_id": owner_id,
        "shop_id": shop_id,
        "currency": DEFAULT_CURRENCY,
        "balance": 0,
        "may_go_negative": AccountKind(kind) in NEGATIVE_ALLOWED,
        "created_at": now,
    }


def _account_id(held: dict[AccountRef, _Held], ref: AccountRef) -> int:
    account_id = held[ref].id
    assert account_id is not None  # opened by _open_named
    return account_id


def _deltas(held: dict[AccountRef, _Held], postings: Iterable[Posting]) -> dict[int, int]:
    deltas: dict[int, int] = {}
    for posting in postings:
        source = _account_id(held, posting.from_account)
        target = _account_id(held, posting.to_account)
        deltas[source] = deltas.get(source, 0) - posting.amount
        deltas[target] = deltas.get(target, 0) + posting.amount
    return deltas


# PostgreSQL: the balances and the transfer rows in one statement, one round trip (a
# data-modifying CTE runs to completion whether or not the main statement reads it); the driver's
# SQL, as _PG_LOCK.
_PG_BOOK = psycopg_sql("""
    WITH moved AS (
        UPDATE ledger_account a SET balance = a.balance + d.delta
        FROM unnest(CAST(:account_ids AS bigint[]), CAST(:deltas AS bigint[])) AS d(id, delta)
        WHERE a.id = d.id
        RETURNING a.id
    )
    INSERT INTO ledger_transfer (idempotency_key, from_account_id, to_account_id, shop_id,
                                 amount, kind, reference, created_at)
    SELECT t.idempotency_key, t.from_account_id, t.to_account_id, t.shop_id, t.amount, t.kind,
           t.reference, :now
    FROM unnest(CAST(:idempotency_key AS text[]), CAST(:from_account_id AS bigint[]),
                CAST(:to_account_id AS bigint[]), CAST(:shop_id AS text[]),
                CAST(:amount AS bigint[]), CAST(:kind AS text[]), CAST(:reference AS text[]))
        AS t(idempotency_key, from_account_id, to_account_id, shop_id, amount, kind, reference)
    RETURNING id, idempotency_key
""")
# SQLite, in process: one executemany for the balances, one INSERT for the transfers (the rows
# as a JSON parameter: fixed text, kept compiled by sqlite3), on the driver's connection in the
# session's transaction (no SQLAlchemy work per statement, as the read).
_SQLITE_ADD_TO_BALANCE = "UPDATE ledger_account SET balance = balance + ? WHERE id = ?"
_SQLITE_INSERT_TRANSFERS = """
    INSERT INTO ledger_transfer (idempotency_key, from_account_id, to_account_id, shop_id,
                                 amount, kind, reference, created_at)
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), json_extract(value, '$[3]'),
           json_extract(value, '$[4]'), json_extract(value, '$[5]'),
           json_extract(value, '$[6]'), :now
    FROM json_each(:rows)
    RETURNING id, idempotency_key
"""


def _write(
    session: Session, postings: Sequence[Posting], held: dict[AccountRef, _Held], now: datetime
) -> dict[str, int]:
    """The batch's balances and transfer rows; the transfers' ids by key."""
    rows = [
        {
            "idempotency_key": p.key,
            "from_account_id": _account_id(held, p.from_account),
            "to_account_id": _account_id(held, p.to_account),
            "shop_id": held[p.from_account].shop_id,
            "amount": p.amount,
            "kind": p.kind,
            "reference": p.reference,
        }
        for p in postings
    ]
    moved = sorted((a, d) for a, d in _deltas(held, postings).items() if d)
    if session.get_bind().dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in rows[0]}
        deltas = {"account_ids": [a for a, _ in moved], "deltas": [d for _, d in moved]}
        params = {**columns, **deltas, "now": now}
        inserted = session.connection().exec_driver_sql(_PG_BOOK, params)
    else:
        with driver_of(session) as driver:
            if moved:
                driver.executemany(_SQLITE_ADD_TO_BALANCE, [(d, a) for a, d in moved])
            as_json = json.dumps([list(row.values()) for row in rows])
            inserted = driver.execute(
                _SQLITE_INSERT_TRANSFERS, {"rows": as_json, "now": sqlite_time(now)}
            ).fetchall()
    return {key: transfer_id for transfer_id, key in inserted}
