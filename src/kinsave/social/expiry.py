"""The deadline a help request and a price cut share. Each is open until its last helper or its
deadline, whichever comes first; a sweeper closes the overdue ones, and a shopper's own overdue
request is closed before they start another on the same offer. What closing means differs and
stays in each module (a help request refunds its escrow, a price cut gives its unit back); here
is only what is the same: which requests are overdue, closing one exactly once, and what a
shopper or a late helper is told.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from kinsave.errors import KinsaveError
from kinsave.social.models import HelpRequest, PriceCut

Deadlined = type[HelpRequest] | type[PriceCut]


def due_for_expiry(session: Session, model: Deadlined, now: datetime, limit: int) -> list[str]:
    """The open requests past their deadline, the longest overdue first (what a sweep closes)."""
    rows = session.execute(
        select(model.id)
        .where(model.state == "open", model.deadline_at <= now)
        .order_by(model.deadline_at)
        .limit(limit)
    )
    return [row[0] for row in rows]


def own_overdue(
    session: Session, model: Deadlined, offer_id: str, requester_id: str, now: datetime
) -> list[str]:
    """The shopper's open requests on the offer past their deadline but not swept yet: closed
    before a new one starts, since the database allows one open request per shopper and offer."""
    return list(
        session.execute(
            select(model.id).where(
                model.offer_id == offer_id,
                model.requester_id == requester_id,
                model.state == "open",
                model.deadline_at <= now,
            )
        ).scalars()
    )


def close_if_overdue(
    session: Session,
    model: Deadlined,
    request_id: str,
    now: datetime,
    *returning: InstrumentedAttribute[Any],
) -> Row[Any] | None:
    """Mark an open, overdue request expired and return the `returning` columns; None when it
    was not (or no longer) due. Exactly once with several sweepers: only the one whose
    conditional UPDATE flips the state gets the row, and only it may settle what is held."""
    return session.execute(
        update(model)
        .where(model.id == request_id, model.state == "open", model.deadline_at <= now)
        .values(state="expired", closed_at=now)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    ).one_or_none()


def shown_state(state: str, deadline_at: datetime, now: datetime) -> str:
    """open | completed | expired as a shopper sees it: an open request past its deadline is
    expired already (the sweeper closes it soon; nobody can help any more)."""
    return "expired" if state == "open" and deadline_at <= now else state


def refuse_if_closed(
    state: str, deadline_at: datetime, now: datetime, *, completed: str, expired: str
) -> None:
    """Refuse a help to a request that is closed: help_request_closed (completed, with the
    message `completed`) or help_request_expired (expired or past its deadline, `expired`)."""
    if state == "completed":
        raise KinsaveError("help_request_closed", completed)
    if state == "expired" or deadline_at <= now:
        raise KinsaveError("help_request_expired", expired)
