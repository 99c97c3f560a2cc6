"""Coupon claims in one statement, and in batches: the path a coupon rush takes.

A claim gives the shopper one coupon of a template, never more than the template's stock in total
nor its per-shopper limit per shopper, under any concurrency; the database decides both:
- the stock: `issued` only grows by a conditional UPDATE (`issued < stock`, a CHECK behind it);
- the limit: that UPDATE pays only while the shopper holds fewer coupons than the limit, and the
  coupon takes slot `held + 1`, unique per (template, shopper, slot). Coupons are never deleted,
  so a shopper's slots are 1..held with no gaps.

A batch (or a lone claim) first reads its templates' terms and locks their rows, in id order,
so that every claim of a template runs under that template's lock: the count of the shopper's
coupons a claim reads is never stale, and batches of two processes queue on the hot row instead
of deadlocking. Then each claim is one statement on PostgreSQL (a data-modifying CTE that counts
the shopper's coupons, takes a unit of stock and inserts the coupon, or else says why it took
nothing) and two on SQLite. A refusal writes nothing, so claims run safely inside a shared batch
transaction (batcher.py): the template's row, the hot row of a rush, is locked once per batch,
and one durable commit (on PostgreSQL one pipelined round trip) pays for the whole batch.

The optional Redis gate (gate.py) refuses sold-out claims before any statement runs: a batch takes
its units in one call per template and gives back the units of claims the database refused.
"""

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.coupons.gate import ClaimGate
from kinsave.coupons.models import CouponTemplate
from kinsave.coupons.schemas import CouponOut
from kinsave.coupons.service import coupon_view
from kinsave.db import driver_of, psycopg_sql, sqlite_time, utcnow
from kinsave.errors import KinsaveError
from kinsave.sharing import events

REFUSALS = {
    "not_found": "no such coupon template",
    "coupon_not_claimable": "this coupon cannot be claimed now",
    "coupon_expired": "this coupon's validity has ended",
    "coupon_limit_reached": "you already hold as many as allowed",
    "coupon_sold_out": "every coupon of this kind has been claimed",
}
_HELD = """
    SELECT count(*) FROM coupon WHERE template_id = :template_id AND shopper_id = :shopper_id
"""
_CAN_ISSUE = """
    id = :template_id AND status = 'active' AND issued < stock AND per_shopper_limit > held
"""
_INSERT_COUPON = """
    INSERT INTO coupon (id, template_id, shop_id, shopper_id, slot, state, claimed_at, expires_at)
"""
# Why a claim took nothing, in the order the checks are promised: not claimable, limit, stock.
_WHY_NOT = """
    CASE WHEN t.status <> 'active' THEN 'coupon_not_claimable'
         WHEN held >= t.per_shopper_limit THEN 'coupon_limit_reached'
         ELSE 'coupon_sold_out' END
"""
_PG_CLAIM = f"""
WITH counted AS (
    SELECT ({_HELD}) AS held
), issued AS (
    UPDATE coupon_template SET issued = issued + 1 FROM counted WHERE {_CAN_ISSUE} RETURNING id
), claimed AS (
    {_INSERT_COUPON}
    SELECT :coupon_id, :template_id, :shop_id, :shopper_id, held + 1, 'available', :now,
           :expires_at
    FROM issued, counted RETURNING id
)
SELECT NULL AS refusal FROM claimed
UNION ALL
SELECT {_WHY_NOT} FROM coupon_template t, counted
WHERE t.id = :template_id AND NOT EXISTS (SELECT 1 FROM claimed)
"""
PG_CLAIM_DRIVER = psycopg_sql(_PG_CLAIM)
# SQLite: the same writes as two statements (no data-modifying CTEs there); the write lock is held
# for the whole transaction, so nothing runs between them.
SQLITE_STEPS = {
    "issue": f"UPDATE coupon_template SET issued = issued + 1 FROM (SELECT ({_HELD}) AS held)"
    f" WHERE {_CAN_ISSUE}",
    "claim": f"""{_INSERT_COUPON} VALUES (:coupon_id, :template_id, :shop_id, :shopper_id,
        ({_HELD}) + 1, 'available', :now, :expires_at)""",
    "why_not": f"SELECT {_WHY_NOT} FROM coupon_template t, (SELECT ({_HELD}) AS held)"
    " WHERE t.id = :template_id",
}


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    template_id: str
    shopper_id: str
    via_share: str | None = None  # the share it came through; the campaign's funnel counts it


def claim_coupon(
    session: Session,
    shopper_id: str,
    template_id: str,
    now: datetime | None = None,
    *,
    gate: ClaimGate | None = None,
    via_share: str | None = None,
) -> CouponOut:
    """Give the shopper one coupon of the template. Errors: not_found, coupon_not_claimable
    (paused, ended, not started), coupon_expired (its window is over), coupon_limit_reached,
    coupon_sold_out."""
    request = ClaimRequest(template_id, shopper_id, via_share)
    (outcome,) = claim_many(session, [request], gate=gate, now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome
    return outcome


def claim_many(
    session: Session,
    requests: Sequence[ClaimRequest],
    *,
    gate: ClaimGate | None = None,
    now: datetime | None = None,
) -> list[CouponOut | KinsaveError]:
    """Every request's answer in one transaction: a CouponOut, or the refusal (nothing written).
    The batch function of the coupon-claim batcher."""
    now = now or utcnow()
    passed = _through_gate(session, gate, requests) if gate else [True] * len(requests)
    try:
        outcomes = _claim_passed(session, requests, passed, now)
    except BaseException:
        _give_back(gate, [r for r, p in zip(requests, passed, strict=True) if p])
        raise  # nothing of this batch will be committed
    refused = zip(requests, passed, outcomes, strict=True)
    _give_back(gate, [r for r, p, o in refused if p and isinstance(o, KinsaveError)])
    return outcomes


def _through_gate(
    session: Session, gate: ClaimGate, requests: Sequence[ClaimRequest]
) -> list[bool]:
    """Which requests the gate lets through (the rest are sold out): one Redis call per template,
    before any row is locked, so a sold-out flood touches no row at all."""
    wanted = Counter(request.template_id for request in requests)
    units = {
        template_id: gate.take(template_id, count, partial(_stock_left, session, template_id))
        for template_id, count in wanted.items()
    }
    passed = []
    for request in requests:
        passed.append(units[request.template_id] > 0)
        units[request.template_id] -= 1
    return passed


def _claim_passed(
    session: Session, requests: Sequence[ClaimRequest], passed: list[bool], now: datetime
) -> list[CouponOut | KinsaveError]:
    wanted = {r.template_id for r, p in zip(requests, passed, strict=True) if p}
    templates = _templates(session, wanted) if wanted else {}
    drafts = [
        _draft(request, templates.get(request.template_id), now)
        if through
        else _refusal("coupon_sold_out")
        for request, through in zip(requests, passed, strict=True)
    ]
    ready = [draft for draft in drafts if isinstance(draft, dict)]
    refusals = iter(_issue(session, ready))
    return [
        draft
        if isinstance(draft, KinsaveError)
        else _answer(session, draft, templates[draft["template_id"]], next(refusals))
        for draft in drafts
    ]


def _templates(session: Session, template_ids: set[str]) -> dict[str, CouponTemplate]:
    """The templates' terms, their rows locked until the commit (see the module docstring)."""
    rows = session.execute(
        select(CouponTemplate)
        .where(CouponTemplate.id.in_(template_ids))
        .order_by(CouponTemplate.id)
        .with_for_update()
    )
    return {template.id: template for template in rows.scalars()}


def _draft(
    request: ClaimRequest, template: CouponTemplate | None, now: datetime
) -> dict[str, Any] | KinsaveError:
    if template is None:
        return _refusal("not_found")
    if template.status != "active" or (template.valid_from and now < template.valid_from):
        return _refusal("coupon_not_claimable")
    if template.valid_until is not None and now >= template.valid_until:
        return _refusal("coupon_expired")
    expiry = [now + timedelta(days=template.valid_days)] if template.valid_days else []
    if template.valid_until is not None:
        expiry.append(template.valid_until)
    return {
        "coupon_id": "cpn_" + secrets.token_hex(8),
        "template_id": template.id,
        "shop_id": template.shop_id,
        "shopper_id": request.shopper_id,
        "via_share": request.via_share,
        "now": now,
        "expires_at": min(expiry),
    }


def _refusal(code: str) -> KinsaveError:
    return KinsaveError(code, REFUSALS[code])


def _stock_left(session: Session, template_id: str) -> int:
    left = session.execute(
        select(CouponTemplate.stock - CouponTemplate.issued).where(CouponTemplate.id == template_id)
    ).scalar_one_or_none()
    return int(left or 0)


def _give_back(gate: ClaimGate | None, requests: list[ClaimRequest]) -> None:
    if gate is not None:
        for template_id, units in Counter(r.template_id for r in requests).items():
            gate.give_back(template_id, units)


def _issue(session: Session, drafts: list[dict[str, Any]]) -> list[str | None]:
    """Run each draft's claim; per draft None when issued, else the refusal code. Straight to the
    driver, in the session's transaction: on PostgreSQL in one pipeline (SQLAlchemy has no
    pipeline mode), on SQLite without SQLAlchemy's per-statement work."""
    if not drafts:  # every claim refused before the database: no connection checked out
        return []
    with driver_of(session) as driver:
        if session.get_bind().dialect.name != "postgresql":
            return [sqlite_claim(driver, sqlite_values(draft)) for draft in drafts]
        with driver.pipeline():
            cursors = [driver.execute(PG_CLAIM_DRIVER, draft, prepare=True) for draft in drafts]
        return [_first(cursor.fetchone()) for cursor in cursors]


def _first(row: Any) -> str | None:
    # No row at all: the template is gone since this batch read it (templates are not deleted).
    return "not_found" if row is None else row[0]


def sqlite_values(draft: dict[str, Any]) -> dict[str, Any]:
    """A draft's values as SQLite stores them, for the driver."""
    times = {name: sqlite_time(draft[name]) for name in ("now", "expires_at")}
    return {**draft, **times}


def sqlite_claim(driver: Any, values: dict[str, Any]) -> str | None:
    """One claim on an sqlite3 connection inside its write transaction: None when issued, else
    why not. The write lock is held for the whole transaction: nothing runs in between."""
    if driver.execute(SQLITE_STEPS["issue"], values).rowcount != 1:
        why_not = driver.execute(SQLITE_STEPS["why_not"], values).fetchone()
        return "not_found" if why_not is None else str(why_not[0])
    driver.execute(SQLITE_STEPS["claim"], values)
    return None


def _answer(
    session: Session, draft: dict[str, Any], template: CouponTemplate, refusal: str | None
) -> CouponOut | KinsaveError:
    if refusal is not None:
        return _refusal(refusal)
    if draft["via_share"] is not None:
        events.record_event(
            session,
            kind="coupon_claimed_via_share",
            shop_id=draft["shop_id"],
            share_code=draft["via_share"],
            shopper_id=draft["shopper_id"],
            dedupe_key=f"coupon_claimed:{draft['coupon_id']}",
            occurred_at=draft["now"],
        )
    return coupon_view(
        template,
        coupon_id=draft["coupon_id"],
        state="available",
        claimed_at=draft["now"],
        expires_at=draft["expires_at"],
    )
