"""Grabbing a share of an envelope: the one implementation, for a batch and for a grab alone.

`book_grabs(session, requests)` answers a batch of grabs in the caller's transaction (the grab
batcher's batch function); `grab_share` is a batch of one (a request with an Idempotency-Key,
the Telegram bot, a rerun). Either way a grab writes the same rows: the share row takes the
grabber (`envelope_share.grabbed_by`, unique per envelope: the one record of who grabbed, so a
second tap is `already_grabbed` whichever path took the first), and the ledger moves the share's
amount from the envelope's escrow to the grabber's wallet at the escrow's shop (ledger/batch.py,
key `envelope-grab:<share id>`, the wallet opened on its first credit).

Set-based: a batch reads its envelopes and the shoppers who already hold a share of them (two
statements), takes free shares for all its grabs in one statement (SKIP LOCKED on PostgreSQL: a
grab never waits for a share another transaction holds), marks them in one, and books every
transfer through one ledger batch. Locks are taken in one order everywhere: shares (never waited
for), then accounts in id order (the ledger). A refused grab writes nothing.

Busy: when every open share of an envelope is held by grabs in flight (in other transactions),
one of them may still roll back, so the answer is neither "empty" nor a wait on their locks: the
grab comes back later (RetryLater; the batcher tries again in a later batch, a grab alone polls)
for at most BUSY_SECONDS, then is answered `envelope_busy`.
"""

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, func, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.batcher import RetryLater, in_rounds
from kinsave.db import UTCDateTime, utcnow
from kinsave.envelopes.models import Envelope, EnvelopeShare
from kinsave.envelopes.schemas import GrabOut
from kinsave.errors import KinsaveError
from kinsave.ledger import batch as ledger_batch
from kinsave.ledger import keys
from kinsave.ledger.models import Account

BUSY_SECONDS = 1.0  # the one bound on a grab that finds every open share held by others
_POLL_SECONDS = 0.002  # a grab in flight commits within a few milliseconds
REFUSALS = {
    "not_found": "no such envelope",
    "envelope_expired": "this envelope has expired",
    "already_grabbed": "you already grabbed a share of this envelope",
    "envelope_empty": "every share of this envelope has been grabbed",
}


def envelope_busy() -> KinsaveError:
    return KinsaveError(
        "envelope_busy",
        "this envelope's last shares are being grabbed right now; retry in a moment",
        details={"retry_after": 1},
    )


@dataclass(frozen=True, slots=True)
class GrabRequest:
    envelope_id: str
    shopper_id: str


GrabResult = GrabOut | KinsaveError | RetryLater
Share = tuple[int, int, int]  # share id, seq, amount


@dataclass(frozen=True, slots=True)
class _Envelope:
    open_until: datetime | None  # None: closed (expired and refunded)
    escrow_account_id: int
    shop_id: str  # the shop whose credit funded it: the grabber's wallet there is credited


def book_grabs(
    session: Session, requests: Sequence[GrabRequest], now: datetime | None = None
) -> list[GrabResult]:
    """Every grab's answer, in order, in the caller's transaction: a GrabOut, a refusal (not_found,
    envelope_expired, already_grabbed, envelope_empty; nothing written) or RetryLater (busy).

    A shopper racing themself from another transaction makes the share's unique index refuse
    the batch: IntegrityError, and the batcher reruns each grab alone (a batch of one answers
    already_grabbed)."""
    now = now or utcnow()
    envelopes = _envelopes(session, {request.envelope_id for request in requests})
    answers: list[GrabResult | None] = [None] * len(requests)
    # A second tap in the same batch is settled after the first, as one request later would be.
    for indexes in in_rounds([(r.envelope_id, r.shopper_id) for r in requests]):
        batch = [requests[i] for i in indexes]
        for index, answer in zip(indexes, _book_round(session, batch, envelopes, now), strict=True):
            answers[index] = answer
    return [answer for answer in answers if answer is not None]  # all set by now


def grab_share(
    session: Session, envelope_id: str, shopper_id: str, now: datetime | None = None
) -> GrabOut:
    """A grab alone: `book_grabs` with a batch of one. Errors: not_found, envelope_expired,
    already_grabbed, envelope_empty, envelope_busy (after BUSY_SECONDS)."""
    now = now or utcnow()
    give_up_at = time.monotonic() + BUSY_SECONDS
    while True:
        (outcome,) = book_grabs(session, [GrabRequest(envelope_id, shopper_id)], now)
        if isinstance(outcome, GrabOut):
            return outcome
        if isinstance(outcome, KinsaveError):
            raise outcome
        if time.monotonic() >= give_up_at:
            raise outcome.give_up()
        time.sleep(_POLL_SECONDS)


def grab_alone(session: Session, request: GrabRequest) -> GrabOut:
    """`grab_share` for a GrabRequest: how the grab batcher runs a grab by itself."""
    return grab_share(session, request.envelope_id, request.shopper_id)


def _book_round(
    session: Session,
    requests: Sequence[GrabRequest],
    envelopes: dict[str, _Envelope],
    now: datetime,
) -> list[GrabResult]:
    """Grabs of distinct (envelope, shopper) pairs."""
    holders = _holders(session, requests)
    answers: list[GrabResult | None] = [
        _refusal(request, envelopes.get(request.envelope_id), holders, now) for request in requests
    ]
    asking = [i for i, answer in enumerate(answers) if answer is None]
    free = _free_shares(session, Counter(requests[i].envelope_id for i in asking))
    taken: dict[int, Share] = {}
    for i in asking:  # in request order: the first asker gets the lowest free seq
        shares = free[requests[i].envelope_id]
        if shares:
            taken[i] = shares.pop(0)
    _mark_grabbed(session, [(taken[i][0], requests[i].shopper_id) for i in taken], now)
    _pay(session, [(requests[i], envelopes[requests[i].envelope_id], taken[i]) for i in taken], now)
    unserved = {requests[i].envelope_id for i in asking if i not in taken}
    busy = _open_shares_left(session, unserved) if unserved else set()
    for i in asking:
        envelope_id = requests[i].envelope_id
        if i in taken:
            _, seq, amount = taken[i]
            answers[i] = GrabOut(envelope_id=envelope_id, amount=amount, seq=seq, grabbed_at=now)
        elif envelope_id in busy:
            answers[i] = RetryLater(envelope_busy())
        else:
            answers[i] = _refused("envelope_empty")
    return [answer for answer in answers if answer is not None]  # all set by now


def _refused(code: str) -> KinsaveError:
    return KinsaveError(code, REFUSALS[code])


def _refusal(
    request: GrabRequest,
    envelope: _Envelope | None,
    holders: set[tuple[str, str]],
    now: datetime,
) -> KinsaveError | None:
    if envelope is None:
        return _refused("not_found")
    if envelope.open_until is None or envelope.open_until <= now:
        return _refused("envelope_expired")
    if (request.envelope_id, request.shopper_id) in holders:
        return _refused("already_grabbed")
    return None


def _envelopes(session: Session, envelope_ids: set[str]) -> dict[str, _Envelope]:
    rows = session.execute(
        select(
            Envelope.id,
            Envelope.status,
            Envelope.expires_at,
            Envelope.escrow_account_id,
            Account.shop_id,
        )
        .join(Account, Account.id == Envelope.escrow_account_id)
        .where(Envelope.id.in_(envelope_ids))
    )
    return {
        envelope_id: _Envelope(expires_at if status == "open" else None, escrow, shop_id)
        for envelope_id, status, expires_at, escrow, shop_id in rows
    }


def _holders(session: Session, requests: Sequence[GrabRequest]) -> set[tuple[str, str]]:
    """The (envelope, shopper) pairs of these requests whose shopper already holds a share."""
    pairs = {(r.envelope_id, r.shopper_id) for r in requests}
    rows = session.execute(
        select(EnvelopeShare.envelope_id, EnvelopeShare.grabbed_by).where(
            tuple_(EnvelopeShare.envelope_id, EnvelopeShare.grabbed_by).in_(pairs)
        )
    )
    return {(envelope_id, str(shopper_id)) for envelope_id, shopper_id in rows}


# Up to `n` free shares of each envelope, lowest seq first, locked; shares other transactions
# hold are skipped, never waited for (waiting on share locks can deadlock two grabs).
_PG_FREE_SHARES = text("""
    SELECT s.id, s.envelope_id, s.seq, s.amount
    FROM unnest(CAST(:envelope_ids AS text[]), CAST(:counts AS int[])) AS wanted(envelope_id, n)
    CROSS JOIN LATERAL (
        SELECT id, envelope_id, seq, amount FROM envelope_share
        WHERE envelope_id = wanted.envelope_id AND grabbed_by IS NULL AND refunded_at IS NULL
        ORDER BY seq LIMIT wanted.n FOR UPDATE SKIP LOCKED
    ) AS s
    ORDER BY s.envelope_id, s.seq
""")


def _free_shares(session: Session, wanted: Counter[str]) -> dict[str, list[Share]]:
    free: dict[str, list[Share]] = {envelope_id: [] for envelope_id in wanted}
    if not wanted:
        return free
    if session.get_bind().dialect.name == "postgresql":
        envelope_ids = sorted(wanted)
        counts = [wanted[envelope_id] for envelope_id in envelope_ids]
        rows = session.execute(_PG_FREE_SHARES, {"envelope_ids": envelope_ids, "counts": counts})
    else:  # one writer holds the database: every open share is free
        rows = session.execute(_sqlite_free_shares(wanted))
    for share_id, envelope_id, seq, amount in rows:
        free[envelope_id].append((share_id, seq, amount))
    return free


def _sqlite_free_shares(wanted: Counter[str]) -> Select[tuple[int, str, int, int]]:
    rank = func.row_number().over(
        partition_by=EnvelopeShare.envelope_id, order_by=EnvelopeShare.seq
    )
    ranked = (
        select(
            EnvelopeShare.id,
            EnvelopeShare.envelope_id,
            EnvelopeShare.seq,
            EnvelopeShare.amount,
            rank.label("rank"),
        )
        .where(
            EnvelopeShare.envelope_id.in_(list(wanted)),
            EnvelopeShare.grabbed_by.is_(None),
            EnvelopeShare.refunded_at.is_(None),
        )
        .subquery()
    )
    return (
        select(ranked.c.id, ranked.c.envelope_id, ranked.c.seq, ranked.c.amount)
        .where(ranked.c.rank <= max(wanted.values()))
        .order_by(ranked.c.envelope_id, ranked.c.seq)
    )


_PG_MARK_GRABBED = text("""
    UPDATE envelope_share s SET grabbed_by = taken.shopper_id, grabbed_at = :now
    FROM unnest(CAST(:share_ids AS bigint[]), CAST(:shopper_ids AS text[]))
        AS taken(id, shopper_id)
    WHERE s.id = taken.id
""").bindparams(bindparam("now", type_=UTCDateTime()))
_MARK_GRABBED = (
    update(EnvelopeShare)
    .where(EnvelopeShare.id == bindparam("share_id"))
    .values(grabbed_by=bindparam("shopper_id"), grabbed_at=bindparam("now"))
)


def _mark_grabbed(session: Session, taken: list[tuple[int, str]], now: datetime) -> None:
    """Write each share's grabber, in one statement (SQLite: one executemany)."""
    if not taken:
        return
    try:
        if session.get_bind().dialect.name == "postgresql":
            share_ids, shopper_ids = [s for s, _ in taken], [g for _, g in taken]
            params = {"share_ids": share_ids, "shopper_ids": shopper_ids, "now": now}
            session.execute(_PG_MARK_GRABBED, params)
        else:
            rows = [{"share_id": s, "shopper_id": g, "now": now} for s, g in taken]
            session.connection().execute(_MARK_GRABBED, rows)
    except IntegrityError as error:  # a shopper who won a concurrent grab a moment earlier
        if len(taken) == 1:
            raise _refused("already_grabbed") from error
        raise  # the batcher reruns each grab alone


def _pay(session: Session, paid: list[tuple[GrabRequest, _Envelope, Share]], now: datetime) -> None:
    """Each taken share from escrow to the grabber's wallet, through one ledger batch. The escrow
    always holds its open shares, so the ledger refuses none of these but for corrupt data;
    then the refusal is raised and the whole transaction rolls back."""
    postings = [
        ledger_batch.Posting(
            envelope.escrow_account_id,
            ledger_batch.Wallet(request.shopper_id, envelope.shop_id),
            amount,
            "envelope_grab",
            keys.envelope_grab(share_id),
            reference=request.envelope_id,
        )
        for request, envelope, (share_id, _, amount) in paid
    ]
    for outcome in ledger_batch.book(session, postings, now=now) if postings else []:
        if isinstance(outcome, KinsaveError):
            raise outcome


def _open_shares_left(session: Session, envelope_ids: set[str]) -> set[str]:
    """Which of these envelopes still have open shares (after this batch took its own): all held
    by grabs in flight in other transactions."""
    rows = session.execute(
        select(EnvelopeShare.envelope_id)
        .where(
            EnvelopeShare.envelope_id.in_(envelope_ids),
            EnvelopeShare.grabbed_by.is_(None),
            EnvelopeShare.refunded_at.is_(None),
        )
        .distinct()
    )
    return {row[0] for row in rows}
