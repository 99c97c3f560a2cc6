"""The grab in one statement, and in batches: the path a grab storm takes (setting `fast_grab`).

`service.grab_share` reads the envelope, checks for an earlier grab, takes a share, looks up the
wallet and books a ledger transfer: seven or eight round trips. Here a grab is one statement on
PostgreSQL (a data-modifying CTE that takes the share, debits the escrow and inserts the transfer
row, or else says why it took nothing) followed by its wallet's credit, and a few cheap
in-process statements on SQLite. It writes exactly what `ledger.transfer` writes (same accounts:
the grabber's wallet at the shop of the envelope's escrow, same shop, same amount, same key
`envelope-grab:<share id>`), so reconcile and `escrow_problems` hold
unchanged; the escrow can not go below zero because it always equals its open shares (and the
CHECK constraint backs that up). Wallets are credited last, in id order, by a grab alone as by a
batch (ledger/batch_credits.py): every transaction that grabs takes escrows before wallets.

Refusals (not found, expired, already grabbed, empty) come from the same statement and leave
nothing written, so grabs are safe to run inside a shared batch transaction. Two cases leave the
batched path: every open share is locked by grabs in flight (RETRY_LATER: the batcher tries the
grab again in a later batch; a grab alone polls until one is free or none is open; the plain path
would wait on those row locks instead, and on PostgreSQL two such waiters can deadlock each
other; polling can't), and a shopper without a wallet yet (RUN_ALONE: the plain path, inside a
savepoint). The one refusal that comes from a constraint, a shopper racing themself from another
process, aborts a PostgreSQL transaction; the batcher then reruns every grab of that batch alone
(`grab_alone`), where it is answered already_grabbed.

`grab_many` is the batch function of the grab batcher: on PostgreSQL it sends every grab's
statement in one pipeline, one round trip for the whole batch.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.batcher import RETRY_LATER, RUN_ALONE, RetryLater, RunAlone
from kinsave.db import driver_of, psycopg_sql, sqlite_time, utcnow
from kinsave.envelopes import service
from kinsave.envelopes.schemas import GrabOut
from kinsave.errors import KinsaveError
from kinsave.ledger import batch_credits

LOCK_WAIT_SECONDS = 10.0

# The grabber's wallet at the shop whose credit funded the envelope (its escrow's shop).
_WALLET_AT_ENVELOPE_SHOP = """
    SELECT w.id FROM ledger_account w WHERE w.kind = 'wallet' AND w.owner_id = :shopper_id
      AND w.shop_id = (SELECT a.shop_id FROM envelope e JOIN ledger_account a
                       ON a.id = e.escrow_account_id WHERE e.id = :envelope_id)
"""
_OPEN_SHARE_FOR_SHOPPER = f"""
    SELECT s.id FROM envelope_share s
    WHERE s.envelope_id = :envelope_id AND s.grabbed_by IS NULL AND s.refunded_at IS NULL
      AND EXISTS (SELECT 1 FROM envelope e WHERE e.id = :envelope_id
                  AND e.status = 'open' AND e.expires_at > :now)
      AND EXISTS ({_WALLET_AT_ENVELOPE_SHOP})
      AND NOT EXISTS (SELECT 1 FROM envelope_share g WHERE g.envelope_id = :envelope_id
                      AND g.grabbed_by = :shopper_id)
    ORDER BY s.seq LIMIT 1
"""

# Why a grab took nothing. `busy`: open shares exist, all locked by grabs in flight.
_WHY_NOT = f"""
    SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM envelope WHERE id = :envelope_id) THEN 'not_found'
        WHEN NOT EXISTS (SELECT 1 FROM envelope WHERE id = :envelope_id
                         AND status = 'open' AND expires_at > :now) THEN 'envelope_expired'
        WHEN EXISTS (SELECT 1 FROM envelope_share WHERE envelope_id = :envelope_id
                     AND grabbed_by = :shopper_id) THEN 'already_grabbed'
        WHEN NOT EXISTS ({_WALLET_AT_ENVELOPE_SHOP}) THEN 'no_wallet'
        WHEN EXISTS (SELECT 1 FROM envelope_share WHERE envelope_id = :envelope_id
                     AND grabbed_by IS NULL AND refunded_at IS NULL) THEN 'busy'
        ELSE 'envelope_empty' END
"""
REFUSALS = {
    "not_found": "no such envelope",
    "envelope_expired": "this envelope has expired",
    "already_grabbed": "you already grabbed a share of this envelope",
    "envelope_empty": "every share of this envelope has been grabbed",
}

# Take a share, debit the escrow, book the transfer; the wallet credit is left to the caller.
_PG_TAKE = f"""
WITH taken AS (
    UPDATE envelope_share SET grabbed_by = :shopper_id, grabbed_at = :now
    WHERE id = ({_OPEN_SHARE_FOR_SHOPPER} FOR UPDATE SKIP LOCKED) AND grabbed_by IS NULL
    RETURNING id, seq, amount
), escrow AS (
    SELECT a.id, a.shop_id FROM envelope e JOIN ledger_account a ON a.id = e.escrow_account_id
    WHERE e.id = :envelope_id
), wallet AS ({_WALLET_AT_ENVELOPE_SHOP}
), debited AS (
    UPDATE ledger_account a SET balance = a.balance - taken.amount
    FROM taken, escrow WHERE a.id = escrow.id RETURNING a.id
), booked AS (
    INSERT INTO ledger_transfer (idempotency_key, from_account_id, to_account_id, shop_id,
                                 amount, kind, reference, created_at)
    SELECT 'envelope-grab:' || taken.id, escrow.id, wallet.id, escrow.shop_id, taken.amount,
           'envelope_grab', :envelope_id, :now
    FROM taken, escrow, wallet RETURNING id
)"""
_NOTHING_TAKEN = (
    f"SELECT NULL, NULL, NULL, ({_WHY_NOT}), NULL WHERE NOT EXISTS (SELECT 1 FROM taken)"
)

# Every grab, alone or in a batch: answers the wallet to credit; the grab (or the batch) credits
# its wallets at the end, in id order, after every escrow it touched (ledger/batch_credits.py).
# So every transaction that grabs locks escrows before wallets, and none of them, in any lane or
# process, can wait for a wallet while holding one another waits for.
_PG_BATCH_GRAB = f"""{_PG_TAKE}
SELECT taken.id, taken.seq, taken.amount, NULL AS refusal, wallet.id AS wallet_id
FROM taken, debited, booked, wallet
UNION ALL {_NOTHING_TAKEN}
"""
_SQLITE_TAKE = f"""
UPDATE envelope_share SET grabbed_by = :shopper_id, grabbed_at = :now
WHERE id = ({_OPEN_SHARE_FOR_SHOPPER}) AND grabbed_by IS NULL
RETURNING id, seq, amount
"""
_SQLITE_MOVE = f"""
UPDATE ledger_account SET balance = balance + CASE WHEN kind = 'wallet' THEN :amount
                                                   ELSE -:amount END
WHERE id = (SELECT escrow_account_id FROM envelope WHERE id = :envelope_id)
   OR id = ({_WALLET_AT_ENVELOPE_SHOP})
"""
_SQLITE_BOOK = f"""
INSERT INTO ledger_transfer (idempotency_key, from_account_id, to_account_id, shop_id,
                             amount, kind, reference, created_at)
SELECT 'envelope-grab:' || :share_id, a.id, ({_WALLET_AT_ENVELOPE_SHOP}), a.shop_id,
       :amount, 'envelope_grab', :envelope_id, :now
FROM envelope e JOIN ledger_account a ON a.id = e.escrow_account_id WHERE e.id = :envelope_id
"""


@dataclass(frozen=True, slots=True)
class GrabRequest:
    envelope_id: str
    shopper_id: str


_PG_BATCH_GRAB_DRIVER = psycopg_sql(_PG_BATCH_GRAB)
Taken = tuple[int, int, int]  # share id, seq, amount


def grab_many(
    session: Session, requests: Sequence[GrabRequest]
) -> list[GrabOut | KinsaveError | RunAlone | RetryLater]:
    """Every request's answer in one transaction: a GrabOut or the refusal (nothing written);
    RETRY_LATER for a grab that would have to wait for shares locked by other transactions (the
    batcher tries it again in a later batch: a batch that waits on another can deadlock with it
    where PostgreSQL can't see); RUN_ALONE for one that must open a wallet first.
    """
    now = utcnow()
    if session.get_bind().dialect.name != "postgresql":
        # On SQLite the batch holds the only write lock: nothing it waits for can be held by
        # someone else, so each grab takes grab_share's own path.
        return [grab_alone(session, request, now) for request in requests]
    first_tries = _pg_pipeline(session, requests, now)
    return [
        _answer(request.envelope_id, first_try, now)
        if isinstance(first_try, tuple)
        else _refusal_or_later(first_try)
        for request, first_try in zip(requests, first_tries, strict=True)
    ]


def grab_alone(
    session: Session, request: GrabRequest, now: datetime | None = None
) -> GrabOut | KinsaveError:
    """One grab in its own transaction (the batcher's run_alone): grab_share's path, which
    polls while the shares are busy, opens a missing wallet, and turns a shopper racing
    themself from another process into already_grabbed."""
    try:
        return grab_share(session, request.envelope_id, request.shopper_id, now)
    except KinsaveError as refusal:
        return refusal


def _refusal_or_later(why_not: str) -> KinsaveError | RunAlone | RetryLater:
    if why_not in REFUSALS:
        return KinsaveError(why_not, REFUSALS[why_not])
    return RETRY_LATER if why_not == "busy" else RUN_ALONE  # no_wallet


def _pg_pipeline(
    session: Session, requests: Sequence[GrabRequest], now: datetime
) -> list[Taken | str]:
    # Straight to the driver: SQLAlchemy has no pipeline mode. Same connection, same transaction.
    with driver_of(session) as driver:
        with driver.pipeline():
            cursors = [
                driver.execute(
                    _PG_BATCH_GRAB_DRIVER,
                    {"envelope_id": r.envelope_id, "shopper_id": r.shopper_id, "now": now},
                    prepare=True,
                )
                for r in requests
            ]
        rows = [cursor.fetchone() for cursor in cursors]
        batch_credits.credit_in_id_order(driver, [(r[4], r[2]) for r in rows if r[3] is None])
    return [_taken_or_why(row) for row in rows]


def grab_share(
    session: Session, envelope_id: str, shopper_id: str, now: datetime | None = None
) -> GrabOut:
    """Same contract as `service.grab_share` (same answers, errors and ledger rows), fewer trips.

    Errors: not_found, envelope_expired, already_grabbed, envelope_empty; service_unavailable
    if the open shares stay locked by other grabs for longer than LOCK_WAIT_SECONDS.
    """
    now = now or utcnow()
    params = {"envelope_id": envelope_id, "shopper_id": shopper_id, "now": now}
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while isinstance(outcome := _take(session, params), str):
        if outcome in REFUSALS:
            raise KinsaveError(outcome, REFUSALS[outcome])
        if outcome == "no_wallet":  # the plain path opens one (a rare, slower path)
            with session.begin_nested():
                return service.grab_share(session, envelope_id, shopper_id, now)
        if time.monotonic() > deadline:
            raise KinsaveError("service_unavailable", "the envelope is busy; retry")
        # Open shares exist but grabs in flight hold them all; one commits or rolls back soon.
        # Polling, rather than waiting on their row locks, can never deadlock.
        time.sleep(0.002)
    return _answer(envelope_id, outcome, now)


def _answer(envelope_id: str, taken: Taken, now: datetime) -> GrabOut:
    return GrabOut(envelope_id=envelope_id, amount=taken[2], seq=taken[1], grabbed_at=now)


def _taken_or_why(row: Any) -> Taken | str:
    return str(row[3]) if row[3] is not None else (row[0], row[1], row[2])


def _take(session: Session, params: dict[str, object]) -> Taken | str:
    if session.get_bind().dialect.name != "postgresql":
        return _sqlite_grab(session, params)
    try:
        with driver_of(session) as driver:
            return pg_grab(driver, params)
    except IntegrityError as error:  # the same shopper won a concurrent grab a moment earlier
        raise KinsaveError("already_grabbed", REFUSALS["already_grabbed"]) from error


def pg_grab(driver: Any, params: dict[str, object]) -> Taken | str:
    """One grab on a psycopg connection inside its transaction: the grab's statement, then its
    wallet credit (as a batch of one)."""
    row = driver.execute(_PG_BATCH_GRAB_DRIVER, params, prepare=True).fetchone()
    if row[3] is None:
        batch_credits.credit_in_id_order(driver, [(row[4], row[2])])
    return _taken_or_why(row)


def _sqlite_grab(session: Session, params: dict[str, Any]) -> Taken | str:
    # Straight to the driver, in the session's transaction: SQLAlchemy's per-statement work was
    # most of a batched grab's time on SQLite.
    with driver_of(session) as driver:
        return sqlite_grab(driver, {**params, "now": sqlite_time(params["now"])})


def sqlite_grab(driver: Any, values: dict[str, Any]) -> Taken | str:
    """One grab on an sqlite3 connection inside its write transaction (`now` as stored text).

    SQLite has no data-modifying CTEs; but it runs in-process and holds the write lock for the
    whole transaction, so three statements in a row cost microseconds and can not interleave."""
    taken = driver.execute(_SQLITE_TAKE, values).fetchone()
    if taken is None:
        return str(driver.execute(_WHY_NOT, values).fetchone()[0])
    share_id, seq, amount = taken
    moved = {**values, "amount": amount, "share_id": share_id}
    driver.execute(_SQLITE_MOVE, moved)
    driver.execute(_SQLITE_BOOK, moved)
    return share_id, seq, amount
