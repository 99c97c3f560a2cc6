"""Taking free shares of envelopes for a batch of grabs, in one statement (envelopes/grabs.py).

Each (envelope, shopper) asking gets the next free share of its envelope, lowest seq first, in
the order asked, and the share row takes the grabber. On PostgreSQL one data-modifying statement
locks the free shares (`FOR UPDATE SKIP LOCKED`: shares other transactions hold are skipped,
never waited for; waiting on share locks can deadlock two grabs), writes their grabbers, and
counts the open shares left, so a grab that got nothing is told apart: shares left means they are
all held by grabs in flight (busy), none means empty. On SQLite, one writer holds the database:
every open share is free, read in one statement and written in one executemany.

The share's (envelope, grabbed_by) is unique: a shopper who won a concurrent grab a moment
earlier makes the statement fail with IntegrityError.
"""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from kinsave.db import UTCDateTime
from kinsave.envelopes.models import EnvelopeShare

Share = tuple[int, int, int]  # share id, seq, amount
Asking = tuple[str, str]  # envelope id, shopper id


def take_shares(
    session: Session, asking: Sequence[Asking], now: datetime
) -> tuple[dict[Asking, Share], set[str]]:
    """The share each (envelope, shopper) took (pairs distinct), and the envelopes whose open
    shares left are all held by other transactions (busy)."""
    if not asking:
        return {}, set()
    if session.get_bind().dialect.name == "postgresql":
        return _pg_take(session, asking, now)
    return _sqlite_take(session, asking, now), set()


_PG_TAKE = text("""
    WITH asked AS (
        SELECT a.envelope_id, a.shopper_id,
               row_number() OVER (PARTITION BY a.envelope_id ORDER BY a.ord) AS rank
        FROM unnest(CAST(:envelope_ids AS text[]), CAST(:shopper_ids AS text[]))
            WITH ORDINALITY AS a(envelope_id, shopper_id, ord)
    ), wanted AS (
        SELECT envelope_id, count(*) AS n FROM asked GROUP BY envelope_id
    ), free AS (
        SELECT s.id, s.envelope_id,
               row_number() OVER (PARTITION BY s.envelope_id ORDER BY s.seq) AS rank
        FROM wanted CROSS JOIN LATERAL (
            SELECT id, envelope_id, seq FROM envelope_share
            WHERE envelope_id = wanted.envelope_id AND grabbed_by IS NULL
              AND refunded_at IS NULL
            ORDER BY seq LIMIT wanted.n FOR UPDATE SKIP LOCKED
        ) AS s
    ), taken AS (
        UPDATE envelope_share s SET grabbed_by = asked.shopper_id, grabbed_at = :now
        FROM free JOIN asked ON asked.envelope_id = free.envelope_id AND asked.rank = free.rank
        WHERE s.id = free.id
        RETURNING s.id, s.envelope_id, s.seq, s.amount, s.grabbed_by
    )
    SELECT id, envelope_id, seq, amount, grabbed_by FROM taken
    UNION ALL
    -- The statement's snapshot: the open shares before this statement took any.
    SELECT NULL, envelope_id, count(*), NULL, NULL FROM envelope_share
    WHERE envelope_id IN (SELECT envelope_id FROM wanted)
      AND grabbed_by IS NULL AND refunded_at IS NULL
    GROUP BY envelope_id
""").bindparams(bindparam("now", type_=UTCDateTime()))


def _pg_take(
    session: Session, asking: Sequence[Asking], now: datetime
) -> tuple[dict[Asking, Share], set[str]]:
    params = {
        "envelope_ids": [envelope_id for envelope_id, _ in asking],
        "shopper_ids": [shopper_id for _, shopper_id in asking],
        "now": now,
    }
    taken: dict[Asking, Share] = {}
    open_before: Counter[str] = Counter()
    for share_id, envelope_id, seq, amount, grabber in session.execute(_PG_TAKE, params):
        if share_id is None:
            open_before[envelope_id] = seq  # the count of open shares
        else:
            taken[(envelope_id, grabber)] = (share_id, seq, amount)
    took = Counter(envelope_id for envelope_id, _ in taken)
    busy = {envelope_id for envelope_id, count in open_before.items() if count > took[envelope_id]}
    return taken, busy


_MARK_GRABBED = (
    update(EnvelopeShare)
    .where(EnvelopeShare.id == bindparam("share_id"))
    .values(grabbed_by=bindparam("shopper_id"), grabbed_at=bindparam("now"))
)


def _sqlite_take(session: Session, asking: Sequence[Asking], now: datetime) -> dict[Asking, Share]:
    wanted = Counter(envelope_id for envelope_id, _ in asking)
    free: dict[str, list[Share]] = {envelope_id: [] for envelope_id in wanted}
    rows: Sequence[Any] = session.execute(_sqlite_free(wanted)).all()
    for share_id, envelope_id, seq, amount in rows:
        free[envelope_id].append((share_id, seq, amount))
    taken = {pair: free[pair[0]].pop(0) for pair in asking if free[pair[0]]}
    if taken:
        rows = [{"share_id": s[0], "shopper_id": p[1], "now": now} for p, s in taken.items()]
        session.connection().execute(_MARK_GRABBED, rows)
    return taken


def _sqlite_free(wanted: Counter[str]) -> Select[tuple[int, str, int, int]]:
    """Up to the wanted number of open shares of each envelope, lowest seq first."""
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
