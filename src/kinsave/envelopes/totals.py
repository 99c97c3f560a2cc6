"""Envelope facts for reports, read only."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.envelopes.models import EnvelopeShare


def grabs_of(session: Session, envelope_ids: set[str]) -> list[tuple[str, str, datetime]]:
    """(envelope, grabber, grabbed at) of every grab of these envelopes (reports): a grabbed
    share is the one record of a grab."""
    if not envelope_ids:
        return []
    rows = session.execute(
        select(EnvelopeShare.envelope_id, EnvelopeShare.grabbed_by, EnvelopeShare.grabbed_at).where(
            EnvelopeShare.envelope_id.in_(sorted(envelope_ids)),
            EnvelopeShare.grabbed_by.is_not(None),
        )
    )
    return [
        (envelope_id, shopper_id, at)
        for envelope_id, shopper_id, at in rows
        if shopper_id is not None and at is not None  # a grabbed share has both
    ]
