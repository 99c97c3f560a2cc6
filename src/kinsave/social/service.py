"""The family circle: who is linked to whom, and what the circle recently claimed or grabbed.

A link is stored in both directions so that "my circle" is one indexed read. Linking is idempotent
(insert-or-ignore on the primary key), so racing links between the same pair are harmless.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.db import insert_on_conflict, utcnow
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.social.models import CircleLink
from kinsave.social.schemas import CircleActivityOut, CircleOut, RelativeOut

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
