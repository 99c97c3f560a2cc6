"""Taking free shares of envelopes for a batch of grabs (envelopes/grabs.py).

`take_shares` reads the batch's envelopes and which of its shoppers already hold a share of
them, and gives each (envelope, shopper) that may grab (the envelope open, no share held) the
next free share of its envelope, lowest seq first, in the order asked: the share row takes the
grabber. On PostgreSQL that is one statement, one round trip: it reads, locks the free shares
(`FOR UPDATE SKIP LOCKED`: shares other transactions hold are skipped, never waited for; waiting
on share locks can deadlock two grabs), writes their grabbers, and counts the open shares, so a
grab that got nothing is told apart: shares left means they are all held by grabs in flight
(busy), none means empty. On SQLite, one writer holds the database: every open share is free;
small statements on an index read (per envelope and per pair) and one executemany writes.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from kinsave.db import driver_of, sqlite_time

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
    return _sqlite_take(session, asking, now)


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


# SQLite, in process, one writer holding the database: small statements on an index, each kept
# compiled by sqlite3 and sent on the driver's connection inside the session's transaction (no
# SQLAlchemy work per statement): per envelope its terms and its first `n` open shares by seq
# (n: the grabs that may take one), per pair whether it holds a share already; the grabbers then
# in one executemany. A statement here costs microseconds; the set-based read it replaces (the
# batch as JSON, a window function over every open share of its envelopes) cost 2-3x as much
# (docs/benchmarks.md, "grab-storm on SQLite, session 9").
_SQLITE_ENVELOPE = """
    SELECT e.status, e.expires_at, e.escrow_account_id, a.shop_id
    FROM envelope e JOIN ledger_account a ON a.id = e.escrow_account_id WHERE e.id = ?
"""
_SQLITE_HOLDS = "SELECT 1 FROM envelope_share WHERE envelope_id = ? AND grabbed_by = ?"
_SQLITE_FREE = """
    SELECT id, seq, amount FROM envelope_share
    WHERE envelope_id = ? AND grabbed_by IS NULL AND refunded_at IS NULL ORDER BY seq LIMIT ?
"""
_SQLITE_MARK_GRABBED = """
    UPDATE envelope_share SET grabbed_by = ?, grabbed_at = ? WHERE id = ?
"""


def _sqlite_take(session: Session, asking: Sequence[Asking], now: datetime) -> Taking:
    taking = Taking()
    with driver_of(session) as driver:
        for envelope_id in dict.fromkeys(envelope_id for envelope_id, _ in asking):
            if (row := driver.execute(_SQLITE_ENVELOPE, (envelope_id,)).fetchone()) is not None:
                status, expires_at, escrow_account_id, shop_id = row
                until = datetime.fromisoformat(expires_at).replace(tzinfo=UTC)
                taking.envelopes[envelope_id] = _terms(status, until, escrow_account_id, shop_id)
        may_take = [pair for pair in asking if _may_take(driver, taking, pair, now)]
        free = {
            envelope_id: driver.execute(_SQLITE_FREE, (envelope_id, wanted)).fetchall()[::-1]
            for envelope_id, wanted in Counter(e for e, _ in may_take).items()
        }
        for pair in may_take:
            if free[pair[0]]:
                taking.taken[pair] = free[pair[0]].pop()  # lowest seq first
        grabbed_at = sqlite_time(now)
        rows = [(pair[1], grabbed_at, share[0]) for pair, share in taking.taken.items()]
        if rows:
            driver.executemany(_SQLITE_MARK_GRABBED, rows)
    return taking


def _may_take(driver: Any, taking: Taking, pair: Asking, now: datetime) -> bool:
    """The pair's envelope is open and the shopper holds no share of it (noted in `holders`)."""
    terms = taking.envelopes.get(pair[0])
    if terms is None:
        return False
    if driver.execute(_SQLITE_HOLDS, pair).fetchone() is not None:
        taking.holders.add(pair)
        return False
    return terms.is_open(now)
