"""Wallet credits of a storm batch, booked last and in account-id order (PostgreSQL).

A batch of grabs or daily claims first takes what it pays from (escrows, a campaign's budget),
statement by statement, and credits the wallets it pays into only at the end, all at once and
locked in id order. Every batch thus locks its sources before any wallet, and wallets in one
order, so batches of different lanes and processes (a grab storm and a daily rush over the same
shoppers) can not deadlock on each other's wallets. The transfer rows were written by the batch's
own statements; this only moves the balances, as `ledger.transfer` would.
"""

from typing import Any

# Two statements on purpose: the first locks every wallet in id order (LockRows above the Sort)
# before the second updates any; one UPDATE ... FROM would lock them in its join's order. NO KEY
# UPDATE, the lock an UPDATE of the balance takes: FOR UPDATE would also wait on the KEY SHARE
# locks that other batches' transfer rows hold on these wallets (their foreign keys), taken in
# item order; two lanes then deadlock (both seen in the grab-storm bench).
_LOCK_WALLETS = (
    "SELECT id FROM ledger_account WHERE id = ANY(%(ids)s) ORDER BY id FOR NO KEY UPDATE"
)
_CREDIT_WALLETS = """
UPDATE ledger_account a SET balance = a.balance + credit.amount
FROM unnest(%(ids)s::bigint[], %(amounts)s::bigint[]) AS credit(id, amount)
WHERE a.id = credit.id
"""


def credit_in_id_order(driver: Any, credits: list[tuple[int, int]]) -> None:
    """Add each (wallet account id, amount) to its balance, on a psycopg connection inside the
    batch's transaction; one wallet may appear more than once."""
    totals: dict[int, int] = {}
    for wallet_id, amount in credits:
        totals[wallet_id] = totals.get(wallet_id, 0) + amount
    if totals:
        ids = sorted(totals)
        params = {"ids": ids, "amounts": [totals[wallet] for wallet in ids]}
        driver.execute(_LOCK_WALLETS, params, prepare=True).fetchall()
        driver.execute(_CREDIT_WALLETS, params, prepare=True)
