"""Envelope facts for reports, read only."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.envelopes.models import EnvelopeGrab


def grabs_of(session: Session, envelope_ids: set[str]) -> list[tuple[str, str, datetime]]:
    """(envelope, grabber, grabbed at) of every grab of these envelopes (reports)."""
    if not envelope_ids:
        return []
    rows = session.execute(
        select(EnvelopeGrab.envelope_id, EnvelopeGrab.shopper_id, EnvelopeGrab.created_at).where(
            EnvelopeGrab.envelope_id.in_(sorted(envelope_ids))
        )
    )
    return [(envelope_id, shopper_id, at) for envelope_id, shopper_id, at in rows]
