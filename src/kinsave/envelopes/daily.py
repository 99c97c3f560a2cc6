"""The daily red envelope: once per shopper per campaign per local calendar day.

`book_daily_claims(session, requests)` is the one implementation, for a batch (the daily
batcher's batch function) and alone (`claim_daily`, a batch of one). A claim draws its amount
from the campaign's rule, pays it from the campaign's budget to the shopper's wallet at the
campaign's shop through a ledger batch (key `daily:<campaign>:<shopper>:<day>`, refused
`already_claimed_today` when that key was booked before, read with the accounts' lock, and
`budget_exhausted` when the budget can not pay, counting the claims before it), then records the
claim row, unique per (campaign, shopper, local day): the terms, the lock, the ledger's write and
the claim rows, four round trips and the commit. A refused claim writes nothing, so a batch
of refusals (a rush past its budget) commits without flushing anything.

Why batches: every claim of a rush debits the campaign's one budget row. One transaction per
claim holds that row's lock until its commit is durable, so claims would commit one fsync at a
time; a batch debits it once for many claims and pays one fsync for all of them.
"""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.batch_outcomes import in_rounds
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import DailyTerms
from kinsave.db import sqlite_time, utcnow
from kinsave.envelopes.daily_rule import draw_amount
from kinsave.envelopes.models import DailyClaim
from kinsave.envelopes.schemas import DailyClaimOut, DailyStatusOut
from kinsave.errors import KinsaveError
from kinsave.ledger import batch as ledger_batch
from kinsave.ledger import keys

_system_random = random.SystemRandom()
ALREADY_CLAIMED = "today's envelope is already claimed"


@dataclass(frozen=True, slots=True)
class DailyRequest:
    campaign_id: str
    shopper_id: str


ClaimKey = tuple[str, str, date]  # campaign, shopper, local day: unique among claim rows


@dataclass(frozen=True, slots=True)
class _Draft:
    """A claim with its terms read and its amount drawn."""

    shopper_id: str
    terms: DailyTerms
    local_day: date
    amount: int

    @property
    def claim_key(self) -> "ClaimKey":
        return (self.terms.campaign_id, self.shopper_id, self.local_day)


def book_daily_claims(
    session: Session,
    requests: Sequence[DailyRequest],
    *,
    rng: random.Random = _system_random,
    now: datetime | None = None,
) -> list[DailyClaimOut | KinsaveError]:
    """Every claim's answer, in order, in the caller's transaction: a DailyClaimOut or a refusal
    (not_found, campaign_not_active, campaign_has_no_daily_envelope, already_claimed_today,
    budget_exhausted; nothing written). Amounts are drawn from `rng` in request order.

    A shopper racing themself from another transaction makes the transfer key's (or the claim
    row's) unique index refuse the batch: IntegrityError, and the batcher reruns each claim
    alone (a batch of one answers already_claimed_today)."""
    now = now or utcnow()
    terms: dict[str, DailyTerms | KinsaveError] = {}  # read once per campaign per batch
    for campaign_id in sorted({request.campaign_id for request in requests}):
        try:
            terms[campaign_id] = campaigns.daily_terms(session, campaign_id, now)
        except KinsaveError as refusal:
            terms[campaign_id] = refusal
    drafts = [_draft(request, terms[request.campaign_id], rng, now) for request in requests]
    answers: list[DailyClaimOut | KinsaveError | None] = [
        draft if isinstance(draft, KinsaveError) else None for draft in drafts
    ]
    ready = [(i, draft) for i, draft in enumerate(drafts) if isinstance(draft, _Draft)]
    # A second tap in the same batch is settled after the first, as one request later would be.
    for indexes in in_rounds([draft.claim_key for _, draft in ready]):
        in_round = [ready[i] for i in indexes]
        outcomes = _book_round(session, [draft for _, draft in in_round], now)
        for (index, _), outcome in zip(in_round, outcomes, strict=True):
            answers[index] = outcome
    return [answer for answer in answers if answer is not None]  # all set by now


def claim_daily(
    session: Session,
    campaign_id: str,
    shopper_id: str,
    *,
    rng: random.Random = _system_random,
    now: datetime | None = None,
) -> DailyClaimOut:
    """Today's red envelope alone: `book_daily_claims` with a batch of one. Errors as there."""
    request = DailyRequest(campaign_id, shopper_id)
    (outcome,) = book_daily_claims(session, [request], rng=rng, now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome
    return outcome


def _draft(
    request: DailyRequest, terms: DailyTerms | KinsaveError, rng: random.Random, now: datetime
) -> _Draft | KinsaveError:
    if isinstance(terms, KinsaveError):
        return terms
    local_day = now.astimezone(ZoneInfo(terms.timezone)).date()
    return _Draft(request.shopper_id, terms, local_day, draw_amount(terms.rule, rng))


def _book_round(
    session: Session, drafts: Sequence[_Draft], now: datetime
) -> list[DailyClaimOut | KinsaveError]:
    """Claims of distinct (campaign, shopper, day), through one ledger batch: a claim booked
    before (its transfer key, read with the accounts' lock) answers `already_claimed_today`,
    the paid ones get their claim rows. A batch whose claims are all refused writes nothing (its
    commit flushes nothing)."""
    postings = [
        ledger_batch.Posting(
            draft.terms.budget_account_id,
            ledger_batch.Wallet(draft.shopper_id, draft.terms.shop_id),
            draft.amount,
            "daily_claim",
            keys.daily_claim(draft.terms.campaign_id, draft.shopper_id, draft.local_day),
            reference=draft.terms.campaign_id,
            insufficient_code="budget_exhausted",
            repeated_code="already_claimed_today",
        )
        for draft in drafts
    ]
    try:
        outcomes = ledger_batch.book(session, postings, now=now)
        _record(
            session, [d for d, o in zip(drafts, outcomes, strict=True) if isinstance(o, int)], now
        )
    except IntegrityError as error:  # the transfer key or the claim row: claimed concurrently
        if len(drafts) == 1:
            raise KinsaveError("already_claimed_today", ALREADY_CLAIMED) from error
        raise  # the batcher reruns each claim alone
    return [_answer(draft, outcome, now) for draft, outcome in zip(drafts, outcomes, strict=True)]


def _answer(
    draft: _Draft, outcome: int | KinsaveError, now: datetime
) -> DailyClaimOut | KinsaveError:
    if isinstance(outcome, KinsaveError):
        if outcome.code == "already_claimed_today":
            return KinsaveError("already_claimed_today", ALREADY_CLAIMED)
        return outcome
    return DailyClaimOut(
        campaign_id=draft.terms.campaign_id,
        amount=draft.amount,
        local_day=draft.local_day,
        claimed_at=now,
    )


# The rows as parameters of one fixed statement, sent as the driver's SQL: on PostgreSQL arrays
# (parsed once, prepared by psycopg after a few batches), on SQLite one JSON parameter (kept
# compiled by sqlite3).
_PG_INSERT_CLAIMS = """
    INSERT INTO daily_claim (campaign_id, shopper_id, local_day, amount, created_at)
    SELECT c.campaign_id, c.shopper_id, c.local_day, c.amount, %(now)s
    FROM unnest(CAST(%(campaign_ids)s AS text[]), CAST(%(shopper_ids)s AS text[]),
                CAST(%(local_days)s AS date[]), CAST(%(amounts)s AS bigint[]))
        AS c(campaign_id, shopper_id, local_day, amount)
"""
_SQLITE_INSERT_CLAIMS = """
    INSERT INTO daily_claim (campaign_id, shopper_id, local_day, amount, created_at)
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), json_extract(value, '$[3]'), :now
    FROM json_each(:rows)
"""


def _record(session: Session, paid: Sequence[_Draft], now: datetime) -> None:
    """The claim rows of the paid claims, in one statement."""
    if not paid:
        return
    connection = session.connection()
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "campaign_ids": [draft.terms.campaign_id for draft in paid],
            "shopper_ids": [draft.shopper_id for draft in paid],
            "local_days": [draft.local_day for draft in paid],
            "amounts": [draft.amount for draft in paid],
            "now": now,
        }
        connection.exec_driver_sql(_PG_INSERT_CLAIMS, params)
        return
    rows = [[d.terms.campaign_id, d.shopper_id, d.local_day.isoformat(), d.amount] for d in paid]
    connection.exec_driver_sql(
        _SQLITE_INSERT_CLAIMS, {"rows": json.dumps(rows), "now": sqlite_time(now)}
    )


def daily_status(
    session: Session, campaign_id: str, shopper_id: str, now: datetime | None = None
) -> DailyStatusOut:
    now = now or utcnow()
    terms = campaigns.daily_terms(session, campaign_id, now)
    local_day = now.astimezone(ZoneInfo(terms.timezone)).date()
    amount = session.execute(
        select(DailyClaim.amount).where(
            DailyClaim.campaign_id == campaign_id,
            DailyClaim.shopper_id == shopper_id,
            DailyClaim.local_day == local_day,
        )
    ).scalar_one_or_none()
    return DailyStatusOut(
        campaign_id=campaign_id, local_day=local_day, claimed=amount is not None, amount=amount
    )
