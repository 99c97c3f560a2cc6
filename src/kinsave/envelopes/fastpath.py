"""The grab in (almost) one statement: the fast path behind the `fast_grab` setting.

`service.grab_share` reads the envelope, checks for an earlier grab, takes a share, looks up the
wallet and books a ledger transfer: seven or eight round trips. Here the happy path is one
statement on PostgreSQL (a data-modifying CTE that takes the share, moves the amount out of the
escrow into the wallet and inserts the transfer row) and four cheap in-process statements on
SQLite. It writes exactly what `ledger.transfer` writes (same accounts, same amount, same key
`envelope-grab:<share id>`), so reconcile and `escrow_problems` hold unchanged; the escrow can not
go below zero because it always equals its open shares (and the CHECK constraint backs that up).

When the statement takes nothing, a few reads say why and give the exact refusal (expired, empty,
already grabbed); if every open share is only locked by grabs in flight, it polls until one is
free or none is open (the plain path waits on those row locks instead, and on PostgreSQL two such
waiters can deadlock each other; polling can't); a shopper without a wallet yet takes the plain
path inside a savepoint. Refusals leave nothing written, so
the fast grab is safe to run inside a shared batch transaction. (The one refusal that comes from a
constraint, a shopper racing themself from another process, aborts a PostgreSQL transaction; the
batcher then reruns every grab of that batch alone, see batcher.py.)

`grab_many` is the batch function the grab batcher commits: on PostgreSQL it sends every grab's
statement in one pipeline (one round trip for the whole batch, each statement prepared once per
connection), then works out the refusals one by one.
"""

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.db import UTCDateTime, utcnow
from kinsave.envelopes import service
from kinsave.envelopes.models import Envelope, EnvelopeShare
from kinsave.envelopes.schemas import GrabOut
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind

LOCK_WAIT_SECONDS = 10.0

_OPEN_SHARE_FOR_SHOPPER = """
    SELECT s.id FROM envelope_share s
    WHERE s.envelope_id = :envelope_id AND s.grabbed_by IS NULL AND s.refunded_at IS NULL
      AND EXISTS (SELECT 1 FROM envelope e WHERE e.id = :envelope_id
                  AND e.status = 'open' AND e.expires_at > :now)
      AND EXISTS (SELECT 1 FROM ledger_account w WHERE w.kind = 'wallet'
                  AND w.owner_id = :shopper_id)
      AND NOT EXISTS (SELECT 1 FROM envelope_share g WHERE g.envelope_id = :envelope_id
                      AND g.grabbed_by = :shopper_id)
    ORDER BY s.seq LIMIT 1
"""

_PG_GRAB = f"""
WITH taken AS (
    UPDATE envelope_share SET grabbed_by = :shopper_id, grabbed_at = :now
    WHERE id = ({_OPEN_SHARE_FOR_SHOPPER} FOR UPDATE SKIP LOCKED) AND grabbed_by IS NULL
    RETURNING id, seq, amount
), escrow AS (
    SELECT escrow_account_id AS id FROM envelope WHERE id = :envelope_id
), wallet AS (
    SELECT id FROM ledger_account WHERE kind = 'wallet' AND owner_id = :shopper_id
), debited AS (
    UPDATE ledger_account a SET balance = a.balance - taken.amount
    FROM taken, escrow WHERE a.id = escrow.id RETURNING a.id
), credited AS (
    UPDATE ledger_account a SET balance = a.balance + taken.amount
    FROM taken, wallet WHERE a.id = wallet.id RETURNING a.id
), booked AS (
    INSERT INTO ledger_transfer
        (idempotency_key, from_account_id, to_account_id, amount, kind, reference, created_at)
    SELECT 'envelope-grab:' || taken.id, escrow.id, wallet.id, taken.amount,
           'envelope_grab', :envelope_id, :now
    FROM taken, escrow, wallet RETURNING id
)
SELECT taken.id, taken.seq, taken.amount FROM taken, debited, credited, booked
"""

_SQLITE_TAKE = f"""
UPDATE envelope_share SET grabbed_by = :shopper_id, grabbed_at = :now
WHERE id = ({_OPEN_SHARE_FOR_SHOPPER}) AND grabbed_by IS NULL
RETURNING id, seq, amount
"""
_SQLITE_MOVE = """
UPDATE ledger_account SET balance = balance + CASE WHEN kind = 'wallet' THEN :amount
                                                   ELSE -:amount END
WHERE id = (SELECT escrow_account_id FROM envelope WHERE id = :envelope_id)
   OR (kind = 'wallet' AND owner_id = :shopper_id)
"""
_SQLITE_BOOK = """
INSERT INTO ledger_transfer
    (idempotency_key, from_account_id, to_account_id, amount, kind, reference, created_at)
VALUES ('envelope-grab:' || :share_id,
        (SELECT escrow_account_id FROM envelope WHERE id = :envelope_id),
        (SELECT id FROM ledger_account WHERE kind = 'wallet' AND owner_id = :shopper_id),
        :amount, 'envelope_grab', :envelope_id, :now)
"""


def _timed(sql: str) -> TextClause:
    return text(sql).bindparams(bindparam("now", type_=UTCDateTime()))


_STATEMENTS = {
    "pg_grab": _timed(_PG_GRAB),
    "sqlite_take": _timed(_SQLITE_TAKE),
    "sqlite_move": text(_SQLITE_MOVE),
    "sqlite_book": _timed(_SQLITE_BOOK),
}


@dataclass(frozen=True, slots=True)
class GrabRequest:
    envelope_id: str
    shopper_id: str


# The CTE for the driver itself: psycopg takes %(name)s placeholders.
_PG_GRAB_DRIVER = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", _PG_GRAB)


def grab_many(session: Session, requests: Sequence[GrabRequest]) -> list[GrabOut | KinsaveError]:
    """Every request's answer in one transaction: a GrabOut, or the refusal (nothing written).

    On PostgreSQL the statements go out in one pipeline; a grab the statement could not serve
    (a refusal, a busy envelope, a shopper without a wallet) is then settled by `grab_share`.
    """
    now = utcnow()
    taken: list[tuple[int, int, int] | None] = [None] * len(requests)
    if len(requests) > 1 and session.get_bind().dialect.name == "postgresql":
        # A grab alone (also each rerun of a failed batch) takes grab_share's own path, which
        # turns a shopper racing themself into already_grabbed instead of a failed batch.
        taken = _pg_pipeline(session, requests, now)
    outcomes: list[GrabOut | KinsaveError] = []
    for request, row in zip(requests, taken, strict=True):
        if row is not None:
            outcomes.append(
                GrabOut(envelope_id=request.envelope_id, amount=row[2], seq=row[1], grabbed_at=now)
            )
            continue
        try:
            outcomes.append(grab_share(session, request.envelope_id, request.shopper_id, now))
        except KinsaveError as refusal:
            outcomes.append(refusal)
    return outcomes


def _pg_pipeline(
    session: Session, requests: Sequence[GrabRequest], now: datetime
) -> list[tuple[int, int, int] | None]:
    # Straight to the driver: SQLAlchemy has no pipeline mode. Same connection, same transaction.
    driver: Any = session.connection().connection.driver_connection
    with driver.pipeline():
        cursors = [
            driver.execute(
                _PG_GRAB_DRIVER,
                {"envelope_id": r.envelope_id, "shopper_id": r.shopper_id, "now": now},
                prepare=True,
            )
            for r in requests
        ]
    rows = [cursor.fetchone() for cursor in cursors]
    return [None if row is None else (row[0], row[1], row[2]) for row in rows]


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
    while (row := _take(session, params)) is None:
        if not _only_busy(session, envelope_id, shopper_id, now):
            # No wallet yet: the plain path opens one (a rare, slower path).
            with session.begin_nested():
                return service.grab_share(session, envelope_id, shopper_id, now)
        if time.monotonic() > deadline:
            raise KinsaveError("service_unavailable", "the envelope is busy; retry")
        # Open shares exist but grabs in flight hold them all; one commits or rolls back soon.
        # Polling, rather than waiting on their row locks, can never deadlock.
        time.sleep(0.002)
    return GrabOut(envelope_id=envelope_id, amount=row[2], seq=row[1], grabbed_at=now)


def _take(session: Session, params: dict[str, object]) -> tuple[int, int, int] | None:
    if session.get_bind().dialect.name != "postgresql":
        return _sqlite_grab(session, params)
    try:
        found = session.execute(_STATEMENTS["pg_grab"], params).one_or_none()
    except IntegrityError as error:  # the same shopper won a concurrent grab a moment earlier
        raise KinsaveError("already_grabbed", "you already grabbed a share") from error
    return None if found is None else (found[0], found[1], found[2])


def _only_busy(session: Session, envelope_id: str, shopper_id: str, now: datetime) -> bool:
    """Why nothing was taken: raises the refusal; True if only locks were in the way."""
    envelope = session.execute(
        select(Envelope.status, Envelope.expires_at).where(Envelope.id == envelope_id)
    ).one_or_none()
    if envelope is None:
        raise KinsaveError("not_found", "no such envelope")
    if envelope.status != "open" or envelope.expires_at <= now:
        raise KinsaveError("envelope_expired", "this envelope has expired")
    held = select(EnvelopeShare.id).where(
        EnvelopeShare.envelope_id == envelope_id, EnvelopeShare.grabbed_by == shopper_id
    )
    if session.execute(held).first() is not None:
        raise KinsaveError("already_grabbed", "you already grabbed a share of this envelope")
    if ledger.find_account(session, AccountKind.WALLET, shopper_id) is None:
        return False
    still_open = select(EnvelopeShare.id).where(
        EnvelopeShare.envelope_id == envelope_id,
        EnvelopeShare.grabbed_by.is_(None),
        EnvelopeShare.refunded_at.is_(None),
    )
    if session.execute(still_open.limit(1)).first() is None:
        raise KinsaveError("envelope_empty", "every share of this envelope has been grabbed")
    return True


def _sqlite_grab(session: Session, params: dict[str, object]) -> tuple[int, int, int] | None:
    # SQLite has no data-modifying CTEs; but it runs in-process and holds the write lock for the
    # whole transaction, so three statements in a row cost microseconds and can not interleave.
    taken = session.execute(_STATEMENTS["sqlite_take"], params).one_or_none()
    if taken is None:
        return None
    share_id, seq, amount = taken
    moved = {**params, "amount": amount, "share_id": share_id}
    session.execute(_STATEMENTS["sqlite_move"], moved)
    session.execute(_STATEMENTS["sqlite_book"], moved)
    return share_id, seq, amount
