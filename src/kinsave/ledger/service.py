"""The ledger: the only code that writes balances. Services elsewhere call `transfer`.

Every transfer moves a positive integer amount from one account to another and carries a unique
idempotency key, so the same business event can never be booked twice. Balances live on the account
row and change in the same transaction as the transfer; a CHECK constraint and a conditional UPDATE
keep every account that is not an outside-money account from going below zero.
"""

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select, union_all
from sqlalchemy.orm import Session, aliased

from kinsave.auth import service as auth
from kinsave.db import insert_or_skip_by_dialect, utcnow
from kinsave.errors import KinsaveError
from kinsave.ledger import batch
from kinsave.ledger.models import (
    DEFAULT_CURRENCY,
    NEGATIVE_ALLOWED,
    Account,
    AccountKind,
    Transfer,
)
from kinsave.ledger.schemas import (
    AccountMismatch,
    HistoryEntryOut,
    HistoryOut,
    ReconcileReport,
    ShopBalance,
    ShopBalanceOut,
    WalletCreditOut,
    WalletOut,
)

# Built once per database, on the table: every checkout reserve opens its order's hold account,
# and building the ORM insert per call cost more CPU than running it (docs/benchmarks.md,
# "Sixth round: checkout").
_ACCOUNT = cast(Table, Account.__table__)
_OPEN_ACCOUNT = insert_or_skip_by_dialect(
    _ACCOUNT, _ACCOUNT.c.id, index_elements=["kind", "owner_id", "shop_id"]
)


def open_account(
    session: Session,
    kind: AccountKind,
    owner_id: str,
    shop_id: str,
    currency: str = DEFAULT_CURRENCY,
    *,
    likely_new: bool = False,
) -> int:
    """Return the id of the (kind, owner, shop) account, creating it if needed. Safe under races.

    `likely_new` (an account per order, say): try the insert first, one statement when it is new.
    """
    existing = None if likely_new else find_account(session, kind, owner_id, shop_id)
    if existing is not None:
        return existing
    row = {
        "kind": kind.value,
        "owner_id": owner_id,
        "shop_id": shop_id,
        "currency": currency,
        "balance": 0,
        "may_go_negative": kind in NEGATIVE_ALLOWED,
        "created_at": utcnow(),
    }
    statement = _OPEN_ACCOUNT[session.get_bind().dialect.name]
    account_id = session.execute(statement, row).scalar_one_or_none()
    if account_id is None:  # opened a moment ago, by this request or a concurrent one
        account_id = find_account(session, kind, owner_id, shop_id)
    assert account_id is not None
    return account_id


def find_account(session: Session, kind: AccountKind, owner_id: str, shop_id: str) -> int | None:
    return session.execute(
        select(Account.id).where(
            Account.kind == kind.value, Account.owner_id == owner_id, Account.shop_id == shop_id
        )
    ).scalar_one_or_none()


def wallet_account(session: Session, shopper_id: str, shop_id: str) -> int:
    """The shopper's wallet of credit issued by `shop_id` (opened on first use)."""
    return open_account(session, AccountKind.WALLET, shopper_id, shop_id)


# wallet_balance's read, for statements that read it together with other things (the checkout
# quote's one round trip: coupons/quote_inputs.py); NULL for a wallet never opened.
WALLET_BALANCE_SQL = (
    f"(SELECT balance FROM ledger_account WHERE kind = '{AccountKind.WALLET.value}'"
    " AND owner_id = :shopper_id AND shop_id = :shop_id)"
)


def wallet_balance(session: Session, shopper_id: str, shop_id: str) -> int:
    """The shopper's credit spendable at `shop_id`; 0 when that wallet was never opened."""
    return balance_of(session, AccountKind.WALLET, shopper_id, shop_id)


def balance_of(session: Session, kind: AccountKind, owner_id: str, shop_id: str) -> int:
    """The balance of an account by owner and shop; 0 for an account that was never opened."""
    value = session.execute(
        select(Account.balance).where(
            Account.kind == kind.value, Account.owner_id == owner_id, Account.shop_id == shop_id
        )
    ).scalar_one_or_none()
    return value or 0


def wallet_balances(session: Session, shopper_id: str) -> list[ShopBalance]:
    """The shopper's wallets, one per shop whose credit they ever held, by shop id."""
    rows = session.execute(
        select(Account.shop_id, Account.balance, Account.currency)
        .where(Account.kind == AccountKind.WALLET.value, Account.owner_id == shopper_id)
        .order_by(Account.shop_id)
    )
    return [
        ShopBalance(shop_id=shop_id, balance=amount, currency=currency)
        for shop_id, amount, currency in rows
    ]


def wallet(session: Session, shopper_id: str, *, including: str | None = None) -> WalletOut:
    """The shopper's balances with their shops' names; `including` adds that shop at 0 when
    the shopper never held its credit (a page that is about to show credit of it landing)."""
    balances = wallet_balances(session, shopper_id)
    if including is not None and all(b.shop_id != including for b in balances):
        balances.append(ShopBalance(shop_id=including, balance=0, currency=DEFAULT_CURRENCY))
    names = auth.shop_names(session, [b.shop_id for b in balances])
    return WalletOut(
        shopper_id=shopper_id,
        balances=[
            ShopBalanceOut(**b.model_dump(), shop_name=names.get(b.shop_id, b.shop_id))
            for b in balances
        ],
    )


def shop_of(session: Session, account_id: int) -> str:
    """The shop an account belongs to."""
    shop_id: str = session.execute(
        select(Account.shop_id).where(Account.id == account_id)
    ).scalar_one()
    return shop_id


def transfer(
    session: Session,
    *,
    from_account_id: int,
    to_account_id: int,
    amount: int,
    kind: str,
    key: str,
    reference: str | None = None,
    insufficient_code: str = "insufficient_funds",
    now: datetime | None = None,
) -> int:
    """Move `amount` between two accounts; returns the transfer id. A batch of one
    (ledger/batch.py): the same checks as every batch.

    Raises KinsaveError(`insufficient_code`) when the source cannot pay, KinsaveError
    `cross_shop_transfer` when the two accounts belong to different shops, `invalid_amount`,
    `invalid_request` (one account on both sides), `not_found` (no such account), and
    IntegrityError when `key` was used before. Each leaves the transaction dirty: the caller's
    boundary rolls back.
    """
    posting = batch.Posting(
        from_account_id,
        to_account_id,
        amount,
        kind,
        key,
        reference=reference,
        insufficient_code=insufficient_code,
    )
    (outcome,) = batch.book(session, [posting], now=now)
    if isinstance(outcome, KinsaveError):
        raise outcome
    return outcome


def balance(session: Session, account_id: int) -> int:
    value: int = session.execute(
        select(Account.balance).where(Account.id == account_id)
    ).scalar_one()
    return value


def total_received(session: Session, account_id: int, *, kind: str) -> int:
    """Everything this account ever received through transfers of one kind."""
    value = session.execute(
        select(func.coalesce(func.sum(Transfer.amount), 0)).where(
            Transfer.to_account_id == account_id, Transfer.kind == kind
        )
    ).scalar_one()
    return int(value)


def movements(session: Session, account_id: int) -> list[tuple[datetime, int, str]]:
    """Every (time, signed amount, kind) that moved this account, oldest first: for reports."""
    rows = union_all(
        select(Transfer.created_at, Transfer.amount, Transfer.kind).where(
            Transfer.to_account_id == account_id
        ),
        select(Transfer.created_at, -Transfer.amount, Transfer.kind).where(
            Transfer.from_account_id == account_id
        ),
    )
    found = [(when, int(amount), kind) for when, amount, kind in session.execute(rows)]
    found.sort(key=lambda row: row[0])
    return found


def wallet_history(
    session: Session,
    shopper_id: str,
    *,
    shop_id: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> HistoryOut:
    """The transfers of the shopper's wallets (of one shop, or of all), newest first."""
    statement = select(Account.id).where(
        Account.kind == AccountKind.WALLET.value, Account.owner_id == shopper_id
    )
    if shop_id is not None:
        statement = statement.where(Account.shop_id == shop_id)
    wallets = list(session.execute(statement).scalars())
    return history(session, wallets, limit=limit, before=before)


def history(
    session: Session, account_ids: Collection[int], *, limit: int = 50, before: int | None = None
) -> HistoryOut:
    """These accounts' transfers, newest first, paginated by transfer id."""
    if not account_ids:
        return HistoryOut(entries=[], next_before=None)
    counterparty = aliased(Account)
    rows = []
    for direction, own_col, other_col in (
        (-1, Transfer.from_account_id, Transfer.to_account_id),
        (1, Transfer.to_account_id, Transfer.from_account_id),
    ):
        statement = (
            select(Transfer, counterparty.kind)
            .join(counterparty, counterparty.id == other_col)
            .where(own_col.in_(list(account_ids)))
        )
        if before is not None:
            statement = statement.where(Transfer.id < before)
        statement = statement.order_by(Transfer.id.desc()).limit(limit + 1)
        rows += [(direction, t, kind) for t, kind in session.execute(statement)]
    rows.sort(key=lambda row: row[1].id, reverse=True)
    page = rows[:limit]
    entries = [
        HistoryEntryOut(
            transfer_id=t.id,
            shop_id=t.shop_id,
            amount=direction * t.amount,
            kind=t.kind,
            reference=t.reference,
            counterparty_kind=kind,
            created_at=t.created_at,
        )
        for direction, t, kind in page
    ]
    next_before = page[-1][1].id if len(rows) > limit else None
    return HistoryOut(entries=entries, next_before=next_before)


def recent_wallet_credits(
    session: Session, shopper_ids: Collection[str], *, kinds: Collection[str], limit: int = 20
) -> list[WalletCreditOut]:
    """Transfers of the given kinds into these shoppers' wallets, newest first (read only)."""
    if not shopper_ids or not kinds:
        return []
    rows = session.execute(
        select(
            Account.owner_id,
            Transfer.shop_id,
            Transfer.amount,
            Transfer.kind,
            Transfer.reference,
            Transfer.created_at,
        )
        .join(Account, Account.id == Transfer.to_account_id)
        .where(
            Account.kind == AccountKind.WALLET.value,
            Account.owner_id.in_(list(shopper_ids)),
            Transfer.kind.in_(list(kinds)),
        )
        .order_by(Transfer.id.desc())
        .limit(limit)
    )
    return [
        WalletCreditOut(
            shopper_id=owner,
            shop_id=shop_id,
            amount=amount,
            kind=kind,
            reference=reference,
            created_at=at,
        )
        for owner, shop_id, amount, kind, reference, at in rows
    ]


def reconcile(session: Session) -> ReconcileReport:
    """Recompute every balance from the transfers and check that the accounts of each shop sum
    to zero (and so all of them), and that no transfer joins accounts of two shops."""
    movements = union_all(
        select(Transfer.to_account_id.label("account_id"), Transfer.amount.label("delta")),
        select(Transfer.from_account_id.label("account_id"), (-Transfer.amount).label("delta")),
    ).subquery()
    computed = (
        select(movements.c.account_id, func.sum(movements.c.delta).label("computed"))
        .group_by(movements.c.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Account.id,
            Account.kind,
            Account.owner_id,
            Account.balance,
            Account.may_go_negative,
            func.coalesce(computed.c.computed, 0),
            Account.shop_id,
        ).outerjoin(computed, computed.c.account_id == Account.id)
    ).all()
    mismatches = [
        AccountMismatch(
            account_id=row[0],
            kind=row[1],
            owner_id=row[2],
            stored_balance=row[3],
            computed_balance=int(row[5]),
        )
        for row in rows
        if row[3] != int(row[5])
    ]
    shop_sums: dict[str, int] = {}
    for row in rows:
        shop_sums[row[6]] = shop_sums.get(row[6], 0) + row[3]
    transfers, total_moved = session.execute(
        select(func.count(Transfer.id), func.coalesce(func.sum(Transfer.amount), 0))
    ).one()
    return ReconcileReport(
        accounts=len(rows),
        transfers=transfers,
        total_moved=int(total_moved),
        sum_of_balances=sum(row[3] for row in rows),
        mismatches=mismatches,
        negative_accounts=[row[0] for row in rows if row[3] < 0 and not row[4]],
        unbalanced_shops={shop: total for shop, total in shop_sums.items() if total != 0},
        cross_shop_transfers=_cross_shop_transfers(session),
    )


def _cross_shop_transfers(session: Session) -> list[int]:
    """Transfers whose two accounts do not both belong to the transfer's shop: impossible through
    the foreign keys, so any found means a raw write or a migration bug (at most 100 listed)."""
    source, target = aliased(Account), aliased(Account)
    return list(
        session.execute(
            select(Transfer.id)
            .join(source, source.id == Transfer.from_account_id)
            .join(target, target.id == Transfer.to_account_id)
            .where((source.shop_id != Transfer.shop_id) | (target.shop_id != Transfer.shop_id))
            .order_by(Transfer.id)
            .limit(100)
        ).scalars()
    )
