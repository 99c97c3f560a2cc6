"""Expiry: an envelope past its deadline closes and gives its unclaimed shares back, exactly once.

Only the sweeper whose conditional `UPDATE ... WHERE status = 'open'` closes the envelope refunds
it, so several sweepers (each `kinsave serve`, `kinsave expire`) may run at once.
"""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kinsave.envelopes.models import Envelope, EnvelopeShare
from kinsave.ledger import keys
from kinsave.ledger import service as ledger


def due_for_expiry(session: Session, now: datetime, limit: int = 200) -> list[str]:
    rows = session.execute(
        select(Envelope.id)
        .where(Envelope.status == "open", Envelope.expires_at <= now)
        .order_by(Envelope.expires_at)
        .limit(limit)
    )
    return [row[0] for row in rows]


def expire_envelope(session: Session, envelope_id: str, now: datetime) -> int | None:
    """Close an expired envelope and return its unclaimed shares to the funder, exactly once.

    Returns the refunded amount, or None when another sweeper (or nothing) got there first.
    """
    closed = session.execute(
        update(Envelope)
        .where(Envelope.id == envelope_id, Envelope.status == "open", Envelope.expires_at <= now)
        .values(status="expired", closed_at=now)
        .returning(Envelope.escrow_account_id, Envelope.funder_account_id)
    ).one_or_none()
    if closed is None:
        return None
    amounts = session.execute(
        update(EnvelopeShare)
        .where(
            EnvelopeShare.envelope_id == envelope_id,
            EnvelopeShare.grabbed_by.is_(None),
            EnvelopeShare.refunded_at.is_(None),
        )
        .values(refunded_at=now)
        .returning(EnvelopeShare.amount)
    ).all()
    refund = sum(row[0] for row in amounts)
    if refund:
        ledger.transfer(
            session,
            from_account_id=closed.escrow_account_id,
            to_account_id=closed.funder_account_id,
            amount=refund,
            kind="envelope_refund",
            key=keys.envelope_refund(envelope_id),
            reference=envelope_id,
            now=now,
        )
    return refund
