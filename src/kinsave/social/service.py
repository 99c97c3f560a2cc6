"""The family circle: who is linked to whom, what the circle recently claimed or grabbed, and the
envelopes sent straight to the circle (on every relative's home page while they are open).

A link is stored in both directions so that "my circle" is one indexed read. Linking is idempotent
(insert-or-ignore on the primary key), so racing links between the same pair are harmless.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.db import insert_on_conflict, utcnow
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.schemas import EnvelopeOut
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.social.models import CircleEnvelope, CircleLink
from kinsave.social.schemas import (
    CircleActivityOut,
    CircleEnvelopeListOut,
    CircleEnvelopeOut,
    CircleOut,
    CircleSendOut,
    RelativeOut,
)

# Wallet credits that mean "claimed or grabbed something": shown in the circle feed.
CIRCLE_ACTIVITY_KINDS = ("daily_claim", "envelope_grab", "help_reward")


def link_relatives(session: Session, shopper_a: str, shopper_b: str, *, via: str) -> None:
    """Link two shoppers as relatives/friends, both ways. Idempotent: the first `via` stays.

    Errors: invalid_request when a shopper would be linked to themself.
    """
    if shopper_a == shopper_b:
        raise KinsaveError("invalid_request", "a shopper cannot be linked to themself")
    now = utcnow()
    rows = [
        {"shopper_id": a, "relative_id": b, "via": via[:32], "created_at": now}
        for a, b in ((shopper_a, shopper_b), (shopper_b, shopper_a))
    ]
    session.execute(
        insert_on_conflict(session, CircleLink)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["shopper_id", "relative_id"])
    )


def relative_ids(session: Session, shopper_id: str) -> list[str]:
    rows = session.execute(
        select(CircleLink.relative_id).where(CircleLink.shopper_id == shopper_id)
    )
    return [row[0] for row in rows]


def circle_view(session: Session, shopper_id: str, *, limit: int = 20) -> CircleOut:
    """My relatives and friends, and their latest claims, grabs and unlocked rewards."""
    links = (
        session.execute(
            select(CircleLink)
            .where(CircleLink.shopper_id == shopper_id)
            .order_by(CircleLink.created_at, CircleLink.relative_id)
        )
        .scalars()
        .all()
    )
    ids = [link.relative_id for link in links]
    names = auth.display_names(session, ids)
    credits = ledger.recent_wallet_credits(session, ids, kinds=CIRCLE_ACTIVITY_KINDS, limit=limit)
    return CircleOut(
        relatives=[
            RelativeOut(
                shopper_id=link.relative_id,
                display_name=names.get(link.relative_id, link.relative_id),
                via=link.via,
                linked_at=link.created_at,
            )
            for link in links
        ],
        recent=[
            CircleActivityOut(
                shopper_id=credit.shopper_id,
                display_name=names.get(credit.shopper_id, credit.shopper_id),
                kind=credit.kind,
                amount=credit.amount,
                at=credit.created_at,
            )
            for credit in credits
        ],
    )


def send_envelope_to_circle(
    session: Session, shopper_id: str, envelope_id: str, now: datetime
) -> CircleSendOut:
    """Put the shopper's own open envelope on their relatives' home pages. Idempotent: sending
    it again answers the first send. Errors: not_found (no such envelope, or not theirs),
    envelope_expired, envelope_empty."""
    envelope = envelopes.envelope_view(session, envelope_id, viewer=shopper_id)
    if envelope.sender_shopper_id != shopper_id:
        raise KinsaveError("not_found", "no such envelope")
    if sent_to_circle(session, envelope_id):
        return _circle_send(session, shopper_id, envelope_id)
    if envelope.status != "open" or envelope.expires_at <= now:
        raise KinsaveError("envelope_expired", "this envelope has expired")
    if envelope.remaining_shares == 0:
        raise KinsaveError("envelope_empty", "every share of this envelope has been grabbed")
    session.execute(
        insert_on_conflict(session, CircleEnvelope)
        .values(envelope_id=envelope_id, sender_id=shopper_id, sent_at=now)
        .on_conflict_do_nothing(index_elements=["envelope_id"])
    )
    return _circle_send(session, shopper_id, envelope_id)


def _circle_send(session: Session, shopper_id: str, envelope_id: str) -> CircleSendOut:
    sent = session.get(CircleEnvelope, envelope_id)
    assert sent is not None  # inserted now, or by the first send
    return CircleSendOut(
        envelope_id=envelope_id,
        sent_at=sent.sent_at,
        relatives=len(relative_ids(session, shopper_id)),
    )


def circle_envelopes(
    session: Session, shopper_id: str, now: datetime, *, limit: int = 10
) -> CircleEnvelopeListOut:
    """The open envelopes my relatives sent to the circle, newest first, with what I got."""
    rows = session.execute(
        select(CircleEnvelope.envelope_id)
        .join(CircleLink, CircleLink.relative_id == CircleEnvelope.sender_id)
        .where(CircleLink.shopper_id == shopper_id)
        .order_by(CircleEnvelope.sent_at.desc(), CircleEnvelope.envelope_id)
        .limit(limit * 3)  # some have expired or emptied since: read a few more
    ).scalars()
    found: list[CircleEnvelopeOut] = []
    for envelope_id in rows:
        view = envelopes.envelope_view(session, envelope_id, viewer=shopper_id)
        still_open = view.status == "open" and view.expires_at > now
        if not still_open or (view.remaining_shares == 0 and view.my_amount is None):
            continue
        found.append(_circle_envelope(session, view, envelope_id))
        if len(found) == limit:
            break
    return CircleEnvelopeListOut(envelopes=found)


def _circle_envelope(session: Session, view: EnvelopeOut, envelope_id: str) -> CircleEnvelopeOut:
    sender = view.sender_shopper_id or ""
    sent = session.get(CircleEnvelope, envelope_id)
    return CircleEnvelopeOut(
        envelope_id=envelope_id,
        sender_id=sender,
        sender_name=auth.display_names(session, [sender]).get(sender, sender),
        message=view.message,
        total=view.total,
        shares=view.shares,
        remaining_shares=view.remaining_shares,
        sent_at=sent.sent_at if sent else view.created_at,
        expires_at=view.expires_at,
        my_amount=view.my_amount,
    )


def sent_to_circle(session: Session, envelope_id: str) -> bool:
    return session.get(CircleEnvelope, envelope_id) is not None
