"""Sharded campaign budgets: the budget split across K ledger accounts so a rush doesn't queue.

In a daily rush every claim debits the campaign's one budget row; on PostgreSQL each claim holds
that row's lock until its commit is durable, so claims run one at a time. Spreading the budget
over K shard accounts (plain ledger accounts, kind `budget_shard`, owner `<campaign>#<k>`) lets K
claims commit at once. Money moves only by `ledger.transfer`, so conservation and reconcile hold.

Semantics of "budget exhausted" stay exact: a claim is paid by any shard (or the main budget
account) that can pay the whole amount; when none can, all of them are locked and, if together
they still hold enough, the shards are gathered back into the main account and the claim is paid
from there. A claim is refused only when the main account and every shard together hold less than
its amount. A campaign's remaining budget is the main account plus its shards.
"""

import secrets

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind

_shards_by_campaign: dict[str, list[int]] = {}  # shards are only ever added, never removed


def spread(session: Session, campaign_id: str, budget_account_id: int, count: int) -> list[int]:
    """Move the main budget's balance into `count` shards (equal parts, largest remainder)."""
    shards = [
        ledger.open_account(session, AccountKind.BUDGET_SHARD, f"{campaign_id}#{k}")
        for k in range(count)
    ]
    available = ledger.balance(session, budget_account_id)
    base, extra = divmod(available, count)
    batch = secrets.token_hex(6)
    for k, shard in enumerate(shards):
        part = base + (1 if k < extra else 0)
        if part:
            ledger.transfer(
                session,
                from_account_id=budget_account_id,
                to_account_id=shard,
                amount=part,
                kind="budget_spread",
                key=f"budget-spread:{campaign_id}:{batch}:{k}",
                reference=campaign_id,
            )
    _shards_by_campaign.pop(campaign_id, None)
    return shards


def shard_accounts(session: Session, campaign_id: str) -> list[int]:
    cached = _shards_by_campaign.get(campaign_id)
    if cached:
        return cached
    ids = list(
        session.execute(
            select(Account.id)
            .where(
                Account.kind == AccountKind.BUDGET_SHARD.value,
                Account.owner_id.like(f"{campaign_id}#%"),
            )
            .order_by(Account.id)
        ).scalars()
    )
    if ids:
        _shards_by_campaign[campaign_id] = ids
    return ids


def shard_total(session: Session, campaign_id: str) -> int:
    ids = shard_accounts(session, campaign_id)
    if not ids:
        return 0
    total = session.execute(
        select(func.coalesce(func.sum(Account.balance), 0)).where(Account.id.in_(ids))
    ).scalar_one()
    return int(total)


def paying_account(
    session: Session, campaign_id: str, budget_account_id: int, amount: int
) -> int | None:
    """Lock and return an account of this budget that can pay `amount`, or None if none can.

    First a free account that can pay (SKIP LOCKED, random so claims spread over the shards);
    else wait for the busy ones that could; else gather.
    """
    accounts = [budget_account_id, *shard_accounts(session, campaign_id)]
    can_pay = (Account.id.in_(accounts)) & (Account.balance >= amount)
    free = session.execute(
        select(Account.id)
        .where(can_pay)
        .order_by(func.random())
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if free is not None:
        return free
    _one_slow_claim_at_a_time(session, campaign_id)
    busy = session.execute(select(Account.id).where(can_pay).order_by(Account.id)).scalars()
    for account_id in list(busy):
        locked = session.execute(
            select(Account.id)
            .where(Account.id == account_id, Account.balance >= amount)
            .with_for_update()
        ).scalar_one_or_none()
        if locked is not None:
            return locked
    return _gather(session, campaign_id, budget_account_id, accounts, amount)


def _one_slow_claim_at_a_time(session: Session, campaign_id: str) -> None:
    # A claim on the fast path holds one shard and waits for nothing else of this budget. Claims
    # that must wait or gather take this lock first, so only one of them at a time holds several
    # shards (PostgreSQL keeps row locks taken by a locking read that then failed its recheck):
    # no two claims can wait on each other in a circle. SQLite has one writer at a time anyway.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"budget:{campaign_id}"}
        )


def _gather(
    session: Session, campaign_id: str, budget_account_id: int, accounts: list[int], amount: int
) -> int | None:
    # No single account can pay: lock them all in id order (no deadlocks between gatherers) and,
    # if together they can, pour the shards back into the main account.
    rows = session.execute(
        select(Account.id, Account.balance)
        .where(Account.id.in_(accounts))
        .order_by(Account.id)
        .with_for_update()
    ).all()
    if sum(balance for _, balance in rows) < amount:
        return None
    batch = secrets.token_hex(6)
    for account_id, balance in rows:
        if account_id != budget_account_id and balance > 0:
            ledger.transfer(
                session,
                from_account_id=account_id,
                to_account_id=budget_account_id,
                amount=balance,
                kind="budget_gather",
                key=f"budget-gather:{campaign_id}:{batch}:{account_id}",
                reference=campaign_id,
            )
    return budget_account_id
