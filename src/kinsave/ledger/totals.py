"""Ledger totals, read only: for monitoring (/metrics) and the console's shop overview."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from kinsave.db import day_index
from kinsave.ledger.models import Account, AccountKind, Transfer


def transfer_totals(session: Session) -> dict[str, tuple[int, int]]:
    """kind -> (how many transfers, their total amount in minor units), over all time."""
    rows = session.execute(
        select(Transfer.kind, func.count(), func.coalesce(func.sum(Transfer.amount), 0)).group_by(
            Transfer.kind
        )
    )
    return {kind: (int(count), int(amount)) for kind, count, amount in rows}


@dataclass(frozen=True)
class DayFlow:
    """Money that moved on one report day between two kinds of account, in one kind of transfer.
    `source`/`destination` are account kinds; an envelope escrow the shop funded from a campaign
    budget reads `shop_envelope_escrow` (its grabs are credit the shop issued; a shopper's own
    envelope only moves their credit between relatives)."""

    day: int
    kind: str
    source: str
    destination: str
    count: int
    amount: int


SHOP_ENVELOPE_ESCROW = "shop_envelope_escrow"


def _account_class(account: Any) -> Any:
    funding, funder = aliased(Transfer), aliased(Account)
    shop_funded = (
        select(funding.id)
        .join(funder, funder.id == funding.from_account_id)
        .where(
            funding.to_account_id == account.id,
            funding.kind == "envelope_funding",
            funder.kind == AccountKind.CAMPAIGN_BUDGET.value,
        )
        .exists()
    )
    return case(
        (
            (account.kind == AccountKind.ENVELOPE_ESCROW.value) & shop_funded,
            SHOP_ENVELOPE_ESCROW,
        ),
        else_=account.kind,
    )


def flows_by_day(session: Session, shop_id: str, edges: Sequence[datetime]) -> list[DayFlow]:
    """The shop's transfers between edges[0] and edges[-1], summed per report day (db.day_index),
    transfer kind and the kinds of the two accounts: one grouped query, read only."""
    source, destination = aliased(Account), aliased(Account)
    day = day_index(Transfer.created_at, edges)
    source_class, destination_class = _account_class(source), _account_class(destination)
    rows = session.execute(
        select(
            day,
            Transfer.kind,
            source_class,
            destination_class,
            func.count(),
            func.sum(Transfer.amount),
        )
        .join(source, source.id == Transfer.from_account_id)
        .join(destination, destination.id == Transfer.to_account_id)
        .where(
            Transfer.shop_id == shop_id,
            Transfer.created_at >= edges[0],
            Transfer.created_at < edges[-1],
        )
        .group_by(day, Transfer.kind, source_class, destination_class)
    )
    return [
        DayFlow(int(d), kind, src, dst, int(count), int(amount))
        for d, kind, src, dst, count, amount in rows
    ]


def balance_of_kind(session: Session, shop_id: str, kind: AccountKind) -> int:
    """What the shop's accounts of one kind hold now (e.g. every campaign budget)."""
    value = session.execute(
        select(func.coalesce(func.sum(Account.balance), 0)).where(
            Account.shop_id == shop_id, Account.kind == kind.value
        )
    ).scalar_one()
    return int(value)
