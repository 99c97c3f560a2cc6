"""The daily claim in one statement, and in batches: the path the daily rush takes.

Same contract as `daily.claim_daily` (once per shopper per campaign per local day, the same
errors, the same ledger rows and transfer key `daily:<campaign>:<shopper>:<day>`), but the happy
path is one statement that pays only if the budget can (`balance >= amount`), the shopper has a
wallet and has not claimed today; so a refusal writes nothing and the claim is safe to run inside
a shared batch transaction (batcher.py). The claim row's unique constraint still backs up "once a
day" against a shopper racing themself from another process: that statement fails, and the
batcher reruns the batch's claims one by one.

Why batches and not more budget rows: every claim of a rush debits the campaign's one budget
row. One transaction per claim holds that row's lock until its commit is durable, so claims
commit one fsync at a time. A batch debits it many times in one transaction and pays one fsync
for all of them, and on PostgreSQL sends every claim in one pipelined round trip.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, TextClause, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import DailyTerms
from kinsave.db import UTCDateTime, driver_of, psycopg_sql, sqlite_time, utcnow
from kinsave.envelopes import daily
from kinsave.envelopes.daily_rule import draw_amount
from kinsave.envelopes.schemas import DailyClaimOut
from kinsave.errors import KinsaveError
from kinsave.ledger import batch_credits

_system_random = random.SystemRandom()

_CAN_PAY = """
    id = :budget_account_id AND balance >= :amount
    AND EXISTS (SELECT 1 FROM ledger_account w WHERE w.kind = 'wallet'
                AND w.owner_id = :shopper_id AND w.shop_id = :shop_id)
    AND NOT EXISTS (SELECT 1 FROM daily_claim c WHERE c.campaign_id = :campaign_id
                    AND c.shopper_id = :shopper_id AND c.local_day = :local_day)
"""
# Why a claim paid nothing.
_WHY_NOT = """
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM daily_claim c WHERE c.campaign_id = :campaign_id
                     AND c.shopper_id = :shopper_id AND c.local_day = :local_day)
            THEN 'already_claimed_today'
        WHEN NOT EXISTS (SELECT 1 FROM ledger_account w WHERE w.kind = 'wallet'
                         AND w.owner_id = :shopper_id AND w.shop_id = :shop_id) THEN 'no_wallet'
        ELSE 'budget_exhausted' END
"""
REFUSALS = {
    "already_claimed_today": "today's envelope is already claimed",
    "budget_exhausted": "not enough money in the paying account",
}
_INSERT_CLAIM = """
    INSERT INTO daily_claim (campaign_id, shopper_id, local_day, amount, created_at)
"""
_INSERT_TRANSFER = """
    INSERT INTO ledger_transfer (idempotency_key, from_account_id, to_account_id, shop_id,
                                 amount, kind, reference, created_at)
"""
_PG_PAY = f"""
WITH paid AS (
    UPDATE ledger_account SET balance = balance - :amount WHERE {_CAN_PAY} RETURNING id
), claimed AS (
    {_INSERT_CLAIM} SELECT :campaign_id, :shopper_id, :local_day, :amount, :now FROM paid
    RETURNING id
), wallet AS (
    SELECT id FROM ledger_account
    WHERE kind = 'wallet' AND owner_id = :shopper_id AND shop_id = :shop_id
), booked AS (
    {_INSERT_TRANSFER}
    SELECT :key, paid.id, wallet.id, :shop_id, :amount, 'daily_claim', :campaign_id, :now
    FROM paid, wallet RETURNING id
)"""
_NOTHING_PAID = f"SELECT NULL, ({_WHY_NOT}) WHERE NOT EXISTS (SELECT 1 FROM paid)"
# One claim alone: the wallet is credited in the same statement.
_PG_CLAIM = f"""{_PG_PAY}, credited AS (
    UPDATE ledger_account a SET balance = a.balance + :amount
    FROM paid, wallet WHERE a.id = wallet.id RETURNING a.id
)
SELECT paid.id, NULL AS refusal FROM paid, claimed, credited, booked
UNION ALL {_NOTHING_PAID}
"""
# A claim in a batch: answers the wallet to credit; the batch credits all its wallets at the end,
# in id order, after the budget (ledger/batch_credits.py).
_PG_BATCH_CLAIM = f"""{_PG_PAY}
SELECT wallet.id, NULL AS refusal FROM paid, claimed, booked, wallet
UNION ALL {_NOTHING_PAID}
"""
PG_CLAIM_DRIVER = psycopg_sql(_PG_CLAIM)
_PG_BATCH_CLAIM_DRIVER = psycopg_sql(_PG_BATCH_CLAIM)


def _typed(sql: str) -> TextClause:
    statement = text(sql)
    if ":now" in sql:
        statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
    if ":local_day" in sql:
        statement = statement.bindparams(bindparam("local_day", type_=Date()))
    return statement


# SQLite: the same writes as four statements (no data-modifying CTEs there).
SQLITE_STEPS = {
    "pay": f"UPDATE ledger_account SET balance = balance - :amount WHERE {_CAN_PAY}",
    "claim": f"{_INSERT_CLAIM} VALUES (:campaign_id, :shopper_id, :local_day, :amount, :now)",
    "credit": "UPDATE ledger_account SET balance = balance + :amount"
    " WHERE kind = 'wallet' AND owner_id = :shopper_id AND shop_id = :shop_id",
    "why_not": _WHY_NOT,
    "book": f"""{_INSERT_TRANSFER} VALUES (:key, :budget_account_id,
        (SELECT id FROM ledger_account
         WHERE kind = 'wallet' AND owner_id = :shopper_id AND shop_id = :shop_id),
        :shop_id, :amount, 'daily_claim', :campaign_id, :now)""",
}
_PG_CLAIM_STATEMENT = _typed(_PG_CLAIM)


@dataclass(frozen=True, slots=True)
class DailyRequest:
    campaign_id: str
    shopper_id: str


def claim_daily(
    session: Session,
    campaign_id: str,
    shopper_id: str,
    *,
    rng: random.Random = _system_random,
    now: datetime | None = None,
) -> DailyClaimOut:
    """Today's red envelope. Errors as `daily.claim_daily`."""
    (outcome,) = claim_many(session, [DailyRequest(campaign_id, shopper_id)], rng=rng, now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome
    return outcome


def claim_many(
    session: Session,
    requests: Sequence[DailyRequest],
    *,
    rng: random.Random = _system_random,
    now: datetime | None = None,
) -> list[DailyClaimOut | KinsaveError]:
    """Every request's answer in one transaction: a DailyClaimOut, or the refusal (nothing
    written). The batch function of the daily-claim batcher."""
    now = now or utcnow()
    terms: dict[str, DailyTerms | KinsaveError] = {}  # read once per campaign per batch
    for campaign_id in {request.campaign_id for request in requests}:
        try:
            terms[campaign_id] = campaigns.daily_terms(session, campaign_id, now)
        except KinsaveError as refusal:
            terms[campaign_id] = refusal
    drafts = [_draft(request, terms[request.campaign_id], rng, now) for request in requests]
    ready = [draft for draft in drafts if isinstance(draft, dict)]
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and len(ready) > 1:
        refusals = _pg_pipeline(session, ready)
    else:
        refusals = [_pay(session, draft, postgres) for draft in ready]
    refusals_in_order = iter(refusals)
    return [
        draft
        if isinstance(draft, KinsaveError)
        else _answer(session, draft, next(refusals_in_order), rng)
        for draft in drafts
    ]


def _draft(
    request: DailyRequest, terms: DailyTerms | KinsaveError, rng: random.Random, now: datetime
) -> dict[str, Any] | KinsaveError:
    if isinstance(terms, KinsaveError):
        return terms
    local_day = now.astimezone(ZoneInfo(terms.timezone)).date()
    return {
        "campaign_id": request.campaign_id,
        "shopper_id": request.shopper_id,
        "shop_id": terms.shop_id,  # the claim pays the shopper's wallet at the campaign's shop
        "budget_account_id": terms.budget_account_id,
        "amount": draw_amount(terms.rule, rng),
        "local_day": local_day,
        "now": now,
        "key": f"daily:{request.campaign_id}:{request.shopper_id}:{local_day.isoformat()}",
    }


def _pay(session: Session, draft: dict[str, Any], postgres: bool) -> str | None:
    """Pay one claim; None when paid, else why not (a refusal code, or `no_wallet`)."""
    if postgres:
        try:
            refusal: str | None = session.execute(_PG_CLAIM_STATEMENT, draft).one()[1]
        except IntegrityError as error:  # the same shopper won a concurrent claim a moment ago
            raise KinsaveError(
                "already_claimed_today", REFUSALS["already_claimed_today"]
            ) from error
        return refusal
    # Straight to the driver, in the session's transaction (SQLAlchemy's per-statement work was
    # most of a batched claim's time on SQLite).
    with driver_of(session) as driver:
        return sqlite_claim(driver, sqlite_values(draft))


def sqlite_values(draft: dict[str, Any]) -> dict[str, Any]:
    """A draft's values as SQLite stores them, for the driver."""
    return {**draft, "now": sqlite_time(draft["now"]), "local_day": draft["local_day"].isoformat()}


def sqlite_claim(driver: Any, values: dict[str, Any]) -> str | None:
    """One claim on an sqlite3 connection inside its write transaction: None when paid, else
    why not. SQLite holds the write lock for the whole transaction: these can't interleave."""
    if driver.execute(SQLITE_STEPS["pay"], values).rowcount != 1:
        return str(driver.execute(SQLITE_STEPS["why_not"], values).fetchone()[0])
    for step in ("claim", "credit", "book"):
        driver.execute(SQLITE_STEPS[step], values)
    return None


def _pg_pipeline(session: Session, drafts: list[dict[str, Any]]) -> list[str | None]:
    # Straight to the driver: SQLAlchemy has no pipeline mode. Same connection, same transaction.
    with driver_of(session) as driver:
        with driver.pipeline():
            cursors = [
                driver.execute(_PG_BATCH_CLAIM_DRIVER, draft, prepare=True) for draft in drafts
            ]
        rows = [cursor.fetchone() for cursor in cursors]
        paid = [(row[0], draft["amount"]) for row, draft in zip(rows, drafts, strict=True)]
        batch_credits.credit_in_id_order(driver, [(w, a) for w, a in paid if w is not None])
    return [row[1] for row in rows]


def _answer(
    session: Session, draft: dict[str, Any], refusal: str | None, rng: random.Random
) -> DailyClaimOut | KinsaveError:
    if refusal in REFUSALS:
        return KinsaveError(str(refusal), REFUSALS[str(refusal)])
    if refusal == "no_wallet":
        try:
            return _claim_opening_wallet(session, draft, rng)
        except KinsaveError as plain_refusal:
            return plain_refusal
    return DailyClaimOut(
        campaign_id=draft["campaign_id"],
        amount=draft["amount"],
        local_day=draft["local_day"],
        claimed_at=draft["now"],
    )


def _claim_opening_wallet(
    session: Session, draft: dict[str, Any], rng: random.Random
) -> DailyClaimOut:
    # No wallet yet: the plain path opens one (a rare, slower path), inside a savepoint so that
    # a refusal there leaves the batch untouched.
    with session.begin_nested():
        return daily.claim_daily(
            session, draft["campaign_id"], draft["shopper_id"], rng=rng, now=draft["now"]
        )
