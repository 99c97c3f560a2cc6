"""Ledger totals for monitoring (/metrics): read-only, one grouped query."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.ledger.models import Transfer


def transfer_totals(session: Session) -> dict[str, tuple[int, int]]:
    """kind -> (how many transfers, their total amount in minor units), over all time."""
    rows = session.execute(
        select(Transfer.kind, func.count(), func.coalesce(func.sum(Transfer.amount), 0)).group_by(
            Transfer.kind
        )
    )
    return {kind: (int(count), int(amount)) for kind, count, amount in rows}
