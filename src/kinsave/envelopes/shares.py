"""Taking free shares of envelopes for a batch of grabs (envelopes/grabs.py).

`take_shares` reads the batch's envelopes and which of its shoppers already hold a share of
them, and gives each (envelope, shopper) that may grab (the envelope open, no share held) the
next free share of its envelope, lowest seq first, in the order asked: the share row takes the
grabber. On PostgreSQL that is one statement, one round trip: it reads, locks the free shares
(`FOR UPDATE SKIP LOCKED`: shares other transactions hold are skipped, never waited for; waiting
on share locks can deadlock two grabs), writes their grabbers, and counts the open shares, so a
grab that got nothing is told apart: shares left means they are all held by grabs in flight
(busy), none means empty. On SQLite, one writer holds the database: every open share is free;
one statement reads, one reads the free shares and one executemany writes.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    bindparam,
    cast,
    func,
    null,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from kinsave.db import UTCDateTime
from kinsave.envelopes.models import Envelope, EnvelopeShare
from kinsave.ledger.models import Account

Share = tuple[int, int, int]  # share id, seq, amount
Asking = tuple[str, str]  # envelope id, shopper id


@dataclass(frozen=True, slots=True)
class EnvelopeTerms:
    open_until: datetime | None  # None: closed (expired and refunded)
    escrow_account_id: int
    shop_id: str  # the shop whose credit funded it: the grabber's wallet there is credited

    def is_open(self, now: datetime) -> bool:
        return self.open_until is not None and self.open_until > now


@dataclass(slots=True)
class Taking:
    """What a batch of grabs found and took."""

    envelopes: dict[str, EnvelopeTerms] = field(default_factory=dict)  # those that exist
    holders: set[Asking] = field(default_factory=set)  # pairs asking that already held a share
    taken: dict[Asking, Share] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)  # open shares left, all held by others


def take_shares(session: Session, asking: Sequence[Asking], now: datetime) -> Taking:
    """Read and take for distinct (envelope, shopper) pairs (module docstring). The share's
    (envelope, grabbed_by) is unique: a shopper who won a concurrent grab a moment earlier makes
    the statement fail with IntegrityError."""
    if not asking:
        return Taking()
    if session.get_bind().dialect.name == "postgresql":
        return _pg_take(session, asking, now)
    taking = _sqlite_read(session, asking)
    may_grab = [
        pair
        for pair in asking
        if pair not in taking.holders
        and (terms := taking.envelopes.get(pair[0])) is not None
        and terms.is_open(now)
    ]
    taking.taken = _sqlite_take(session, may_grab, now)
    return taking


# The driver's SQL (fixed text, array parameters: parsed once, prepared by psycopg). Rows by
# kind: e (an envelope), t (a share taken), n (the open shares of an envelope in this statement's
# snapshot, before it took any), h (a pair that already holds a share).
_PG_TAKE = """
    WITH asked AS (
        SELECT a.envelope_id, a.shopper_id, a.ord
        FROM unnest(CAST(%(envelope_ids)s AS text[]), CAST(%(shopper_ids)s AS text[]))
            WITH ORDINALITY AS a(envelope_id, shopper_id, ord)
    ), envelopes AS (
        SELECT e.id, e.status, e.expires_at, e.escrow_account_id, a.shop_id
        FROM envelope e JOIN ledger_account a ON a.id = e.escrow_account_id
        WHERE e.id = ANY(CAST(%(envelope_ids)s AS text[]))
    ), holders AS (
        SELECT s.envelope_id, s.grabbed_by FROM envelope_share s
        JOIN asked ON s.envelope_id = asked.envelope_id AND s.grabbed_by = asked.shopper_id
    ), eligible AS (
        SELECT asked.envelope_id, asked.shopper_id,
               row_number() OVER (PARTITION BY asked.envelope_id ORDER BY asked.ord) AS rank
        FROM asked JOIN envelopes e ON e.id = asked.envelope_id
        WHERE e.status = 'open' AND e.expires_at > %(now)s
          AND NOT EXISTS (SELECT 1 FROM holders h WHERE h.envelope_id = asked.envelope_id
                          AND h.grabbed_by = asked.shopper_id)
    ), wanted AS (
        SELECT envelope_id, count(*) AS n FROM eligible GROUP BY envelope_id
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
        UPDATE envelope_share s SET grabbed_by = eligible.shopper_id, grabbed_at = %(now)s
        FROM free JOIN eligible
          ON eligible.envelope_id = free.envelope_id AND eligible.rank = free.rank
        WHERE s.id = free.id
        RETURNING s.id, s.envelope_id, s.seq, s.amount, s.grabbed_by
    )
    -- Envelopes first: each column's type is set by the first two branches.
    SELECT 'e', NULL, id, NULL, NULL, NULL, status, expires_at, escrow_account_id, shop_id
    FROM envelopes
    UNION ALL
    SELECT 't', id, envelope_id, seq, amount, grabbed_by, NULL, NULL, NULL, NULL FROM taken
    UNION ALL
    SELECT 'n', NULL, envelope_id, count(*), NULL, NULL, NULL, NULL, NULL, NULL FROM envelope_share
    WHERE envelope_id IN (SELECT envelope_id FROM wanted)
      AND grabbed_by IS NULL AND refunded_at IS NULL
    GROUP BY envelope_id
    UNION ALL
    SELECT 'h', NULL, envelope_id, NULL, NULL, grabbed_by, NULL, NULL, NULL, NULL FROM holders
"""


def _pg_take(session: Session, asking: Sequence[Asking], now: datetime) -> Taking:
    params = {
        "envelope_ids": [envelope_id for envelope_id, _ in asking],
        "shopper_ids": [shopper_id for _, shopper_id in asking],
        "now": now,
    }
    taking = Taking()
    open_before: Counter[str] = Counter()
    rows = session.connection().exec_driver_sql(_PG_TAKE, params)
    for kind, share_id, envelope_id, seq, amount, shopper, status, until, escrow, shop in rows:
        if kind == "t":
            taking.taken[(envelope_id, shopper)] = (share_id, seq, amount)
        elif kind == "n":
            open_before[envelope_id] = seq  # the count of open shares
        elif kind == "h":
            taking.holders.add((envelope_id, shopper))
        else:
            taking.envelopes[envelope_id] = _terms(status, until, escrow, shop)
    took = Counter(envelope_id for envelope_id, _ in taking.taken)
    taking.busy = {e for e, count in open_before.items() if count > took[e]}
    return taking


def _terms(
    status: str, expires_at: datetime, escrow_account_id: int, shop_id: str
) -> EnvelopeTerms:
    return EnvelopeTerms(expires_at if status == "open" else None, escrow_account_id, shop_id)


def _sqlite_read(session: Session, asking: Sequence[Asking]) -> Taking:
    """The envelopes and the pairs already holding a share, in one statement."""
    envelopes = (
        select(
            Envelope.id,
            Envelope.status,
            Envelope.expires_at,
            Envelope.escrow_account_id,
            Account.shop_id,
            cast(null(), String).label("holder"),
        )
        .join(Account, Account.id == Envelope.escrow_account_id)
        .where(Envelope.id.in_({envelope_id for envelope_id, _ in asking}))
    )
    holders = select(
        EnvelopeShare.envelope_id,
        cast(null(), String),
        cast(null(), UTCDateTime()),
        cast(null(), BigInteger),
        cast(null(), String),
        EnvelopeShare.grabbed_by,
    ).where(tuple_(EnvelopeShare.envelope_id, EnvelopeShare.grabbed_by).in_(set(asking)))
    taking = Taking()
    rows: Sequence[Any] = session.execute(union_all(envelopes, holders)).all()
    for envelope_id, status, expires_at, escrow, shop_id, holder in rows:
        if holder is not None:
            taking.holders.add((envelope_id, holder))
        else:
            taking.envelopes[envelope_id] = _terms(status, expires_at, escrow, shop_id)
    return taking


_MARK_GRABBED = (
    update(EnvelopeShare)
    .where(EnvelopeShare.id == bindparam("share_id"))
    .values(grabbed_by=bindparam("shopper_id"), grabbed_at=bindparam("now"))
)


def _sqlite_take(session: Session, asking: Sequence[Asking], now: datetime) -> dict[Asking, Share]:
    if not asking:
        return {}
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
