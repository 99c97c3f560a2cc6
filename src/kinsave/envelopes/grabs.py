"""Grabbing a share of an envelope: the one implementation, for a batch and for a grab alone.

`book_grabs(session, requests)` answers a batch of grabs in the caller's transaction (the grab
batcher's batch function); `grab_share` is a batch of one (a request with an Idempotency-Key,
the Telegram bot, a rerun). Either way a grab writes the same rows: the share row takes the
grabber (`envelope_share.grabbed_by`, unique per envelope: the one record of who grabbed, so a
second tap is `already_grabbed` whichever path took the first), and the ledger moves the share's
amount from the envelope's escrow to the grabber's wallet at the escrow's shop (ledger/batch.py,
key `envelope-grab:<share id>`, the wallet opened on its first credit).

Set-based: a batch reads its envelopes and the shoppers who already hold a share of them, takes
free shares for all its grabs and writes their grabbers (shares.py: one statement on PostgreSQL;
SKIP LOCKED there: a grab never waits for a share another transaction holds), and books every
transfer through one ledger batch (two statements): three round trips and the commit. Locks
are taken in one order everywhere: shares (never waited for), then accounts in id order (the
ledger). A refused grab writes nothing.

Busy: when every open share of an envelope is held by grabs in flight (in other transactions),
one of them may still roll back, so the answer is neither "empty" nor a wait on their locks: the
grab comes back later (RetryLater; the batcher tries again in a later batch, a grab alone polls)
for at most BUSY_SECONDS, then is answered `envelope_busy`.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.batch_outcomes import RetryLater, in_rounds
from kinsave.db import utcnow
from kinsave.envelopes import shares
from kinsave.envelopes.schemas import GrabOut
from kinsave.errors import KinsaveError
from kinsave.ledger import batch as ledger_batch
from kinsave.ledger import keys

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
Share = shares.Share


def book_grabs(
    session: Session, requests: Sequence[GrabRequest], now: datetime | None = None
) -> list[GrabResult]:
    """Every grab's answer, in order, in the caller's transaction: a GrabOut, a refusal (not_found,
    envelope_expired, already_grabbed, envelope_empty; nothing written) or RetryLater (busy).

    A shopper racing themself from another transaction makes the share's unique index refuse
    the batch: IntegrityError, and the batcher reruns each grab alone (a batch of one answers
    already_grabbed)."""
    now = now or utcnow()
    answers: list[GrabResult | None] = [None] * len(requests)
    # A second tap in the same batch is settled after the first, as one request later would be.
    for indexes in in_rounds([(r.envelope_id, r.shopper_id) for r in requests]):
        batch = [requests[i] for i in indexes]
        for index, answer in zip(indexes, _book_round(session, batch, now), strict=True):
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
    session: Session, requests: Sequence[GrabRequest], now: datetime
) -> list[GrabResult]:
    """Grabs of distinct (envelope, shopper) pairs."""
    pairs = [(request.envelope_id, request.shopper_id) for request in requests]
    try:
        taking = shares.take_shares(session, pairs, now)
    except IntegrityError as error:  # a shopper who won a concurrent grab a moment earlier
        if len(requests) == 1:
            raise _refused("already_grabbed") from error
        raise  # the batcher reruns each grab alone
    paid = [
        (r, taking.envelopes[r.envelope_id], taking.taken[p])
        for r, p in zip(requests, pairs, strict=True)
        if p in taking.taken
    ]
    _pay(session, paid, now)
    answers: list[GrabResult] = []
    for request, pair in zip(requests, pairs, strict=True):
        if (share := taking.taken.get(pair)) is not None:
            _, seq, amount = share
            answers.append(GrabOut(envelope_id=pair[0], amount=amount, seq=seq, grabbed_at=now))
        elif (refusal := _refusal(request, taking, now)) is not None:
            answers.append(refusal)
        elif request.envelope_id in taking.busy:
            answers.append(RetryLater(envelope_busy()))
        else:
            answers.append(_refused("envelope_empty"))
    return answers


def _refused(code: str) -> KinsaveError:
    return KinsaveError(code, REFUSALS[code])


def _refusal(request: GrabRequest, taking: shares.Taking, now: datetime) -> KinsaveError | None:
    envelope = taking.envelopes.get(request.envelope_id)
    if envelope is None:
        return _refused("not_found")
    if not envelope.is_open(now):
        return _refused("envelope_expired")
    if (request.envelope_id, request.shopper_id) in taking.holders:
        return _refused("already_grabbed")
    return None


def _pay(
    session: Session,
    paid: list[tuple[GrabRequest, shares.EnvelopeTerms, Share]],
    now: datetime,
) -> None:
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
