"""wallets per shop: every ledger account and transfer belongs to one shop

Revision ID: 7a1c0d2e3f41
Revises: 5d0c3b7e91a4
Create Date: 2026-12-06 13:30:00.000000

Every account gets the shop it belongs to (a campaign's accounts its campaign's shop, an order's
hold its order's shop, ...). Each shopper's single wallet is split into one wallet per shop
exactly: the transfers are replayed in id order and every transfer touching the old wallet is
re-pointed to the shopper's wallet at the shop of the transfer's other account; a lucky envelope
a shopper funded takes the shop of whose credit the sender then held enough (the most of). The
wallets' balances are then recomputed from the transfers, so each shop's accounts sum to zero
and reconcile is clean. Wallets that never moved money are dropped (they open on first credit).

Why this writes the ledger's tables itself, outside ledger/ (the one other writer, on purpose):
a migration is frozen history, run against the schema of its own revision, halfway through its
own changes (shop_id still nullable, the old unique key dropped, the new ones not yet made).
ledger/ is the current code on the current models: it only appends transfers through
`batch.book`, with today's checks and key formats, and has no way to re-point a booked transfer
or recompute a balance, which is what this backfill is. Calling it, or a copy of it kept in
ledger/, would make an old upgrade change whenever the ledger does (and break once the models
gain a column this revision lacks); a frozen copy would be this file's statements again under
another name. So the statements stay here, in plain SQL on this revision's tables, checked by
tests/ledger/test_wallet_split_migration.py (a database made by the old code, on both backends).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision: str = "7a1c0d2e3f41"
down_revision: str | None = "5d0c3b7e91a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WALLET = "wallet"
# Non-wallet accounts whose shop follows from a table of the old schema.
_SHOP_OF_ACCOUNTS = [
    "UPDATE ledger_account SET shop_id = owner_id WHERE kind IN ('shop_funding', 'shop_redeemed')",
    "UPDATE ledger_account SET shop_id = (SELECT c.shop_id FROM campaign c"
    " WHERE c.id = ledger_account.owner_id) WHERE kind IN ('campaign_budget', 'reward_hold')",
    "UPDATE ledger_account SET shop_id = (SELECT o.shop_id FROM checkout_order o"
    " WHERE o.hold_account_id = ledger_account.id) WHERE kind = 'credit_hold'",
    "UPDATE ledger_account SET shop_id = (SELECT c.shop_id FROM envelope e"
    " JOIN campaign c ON c.id = e.campaign_id WHERE e.escrow_account_id = ledger_account.id)"
    " WHERE kind = 'envelope_escrow'",
    "UPDATE ledger_account SET shop_id = (SELECT b.shop_id FROM help_request h"
    " JOIN ledger_account b ON b.id = h.budget_account_id"
    " WHERE h.escrow_account_id = ledger_account.id) WHERE kind = 'help_escrow'",
]
_RECOMPUTE_WALLETS = """
UPDATE ledger_account SET balance =
    COALESCE((SELECT SUM(amount) FROM ledger_transfer WHERE to_account_id = ledger_account.id), 0)
  - COALESCE((SELECT SUM(amount) FROM ledger_transfer WHERE from_account_id = ledger_account.id), 0)
WHERE kind = 'wallet'
"""


def upgrade() -> None:
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shop_id", sa.String(length=40), nullable=True))
        # A shopper may hold several wallets from now on (one per shop).
        batch_op.drop_constraint("uq_ledger_account_kind_owner_id", type_="unique")
    with op.batch_alter_table("ledger_transfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shop_id", sa.String(length=40), nullable=True))
    connection = op.get_bind()
    for statement in _SHOP_OF_ACCOUNTS:
        connection.execute(sa.text(statement))
    _split_wallets(connection)
    connection.execute(sa.text(_RECOMPUTE_WALLETS))
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.alter_column("shop_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(
            "uq_ledger_account_kind_owner_id_shop_id", ["kind", "owner_id", "shop_id"]
        )
        batch_op.create_unique_constraint("uq_ledger_account_id_shop_id", ["id", "shop_id"])
        batch_op.create_foreign_key("fk_ledger_account_shop_id_shop", "shop", ["shop_id"], ["id"])
    with op.batch_alter_table("ledger_transfer", schema=None) as batch_op:
        batch_op.alter_column("shop_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_constraint(
            "fk_ledger_transfer_from_account_id_ledger_account", type_="foreignkey"
        )
        batch_op.drop_constraint(
            "fk_ledger_transfer_to_account_id_ledger_account", type_="foreignkey"
        )
        for side in ("from", "to"):
            batch_op.create_foreign_key(
                f"fk_ledger_transfer_{side}_account_same_shop",
                "ledger_account",
                [f"{side}_account_id", "shop_id"],
                ["id", "shop_id"],
            )


@dataclass
class _Replay:
    """The ledger as the transfers tell it, wallet by wallet and shop by shop."""

    connection: Connection
    shop: dict[int, str | None]  # account id -> its shop (None: not known yet)
    owner: dict[int, str]  # wallet id -> shopper
    held: dict[tuple[int, str], int] = field(default_factory=dict)  # (old wallet, shop) -> credit
    split: dict[tuple[int, str], int] = field(default_factory=dict)  # (old wallet, shop) -> id

    def wallet_at(self, old_wallet: int, shop_id: str) -> int:
        """The shopper's wallet at this shop: the old row for its first shop, new ones after."""
        if (old_wallet, shop_id) in self.split:
            return self.split[(old_wallet, shop_id)]
        if self.shop[old_wallet] is None:
            self.shop[old_wallet] = shop_id
            self.connection.execute(
                sa.text("UPDATE ledger_account SET shop_id = :shop WHERE id = :id"),
                {"shop": shop_id, "id": old_wallet},
            )
            wallet_id = old_wallet
        else:
            wallet_id = self.connection.execute(
                sa.text(
                    "INSERT INTO ledger_account (kind, owner_id, shop_id, currency, balance,"
                    " may_go_negative, created_at) SELECT kind, owner_id, :shop, currency, 0,"
                    " may_go_negative, created_at FROM ledger_account WHERE id = :id RETURNING id"
                ),
                {"shop": shop_id, "id": old_wallet},
            ).scalar_one()
        self.split[(old_wallet, shop_id)] = wallet_id
        return wallet_id

    def shop_paid_from(self, old_wallet: int, amount: int, transfer_id: int) -> str:
        """A shopper's lucky envelope: the shop whose credit the sender held most of, enough."""
        held = [(credit, shop) for (w, shop), credit in self.held.items() if w == old_wallet]
        enough = sorted((-credit, shop) for credit, shop in held if credit >= amount)
        if not enough:
            raise RuntimeError(
                f"transfer {transfer_id}: wallet {old_wallet} holds no shop's credit of {amount}"
            )
        return enough[0][1]

    def book(self, transfer_id: int, source: int, target: int, amount: int) -> dict[str, object]:
        if source in self.owner and target in self.owner:
            raise RuntimeError(f"transfer {transfer_id} moves between two wallets")
        if source in self.owner:
            shop_id = self.shop[target] or self.shop_paid_from(source, amount, transfer_id)
            self.shop[target] = shop_id
            self.held[(source, shop_id)] = self.held.get((source, shop_id), 0) - amount
            source = self.wallet_at(source, shop_id)
        elif target in self.owner:
            shop_id = self._known(transfer_id, self.shop[source])
            self.held[(target, shop_id)] = self.held.get((target, shop_id), 0) + amount
            target = self.wallet_at(target, shop_id)
        else:
            shop_id = self._known(transfer_id, self.shop[source] or self.shop[target])
            if {self.shop[source], self.shop[target]} - {None, shop_id}:
                raise RuntimeError(f"transfer {transfer_id} joins accounts of two shops")
            self.shop[source] = self.shop[target] = shop_id
        return {"id": transfer_id, "source": source, "target": target, "shop": shop_id}

    @staticmethod
    def _known(transfer_id: int, shop_id: str | None) -> str:
        if shop_id is None:
            raise RuntimeError(f"transfer {transfer_id}: no shop known for either account")
        return shop_id


def _split_wallets(connection: Connection) -> None:
    accounts = connection.execute(sa.text("SELECT id, kind, owner_id, shop_id FROM ledger_account"))
    replay = _Replay(connection, shop={}, owner={})
    for account_id, kind, owner_id, shop_id in accounts.all():
        replay.shop[account_id] = shop_id
        if kind == WALLET:
            replay.owner[account_id] = owner_id
    transfers = connection.execute(
        sa.text(
            "SELECT id, from_account_id, to_account_id, amount FROM ledger_transfer ORDER BY id"
        )
    ).all()
    updates = [replay.book(*row) for row in transfers]
    if updates:
        connection.execute(
            sa.text(
                "UPDATE ledger_transfer SET from_account_id = :source, to_account_id = :target,"
                " shop_id = :shop WHERE id = :id"
            ),
            updates,
        )
    _store_escrow_shops(connection, replay)
    # A shopper's envelope was funded from the wallet at its escrow's shop.
    connection.execute(
        sa.text(
            "UPDATE envelope SET funder_account_id = (SELECT w.id FROM ledger_account w"
            " JOIN ledger_account x ON x.id = envelope.escrow_account_id"
            " WHERE w.kind = 'wallet' AND w.owner_id = envelope.sender_shopper_id"
            " AND w.shop_id = x.shop_id) WHERE sender_shopper_id IS NOT NULL"
        )
    )
    # Wallets that never moved money: they open again at the first credit of a shop.
    connection.execute(
        sa.text("DELETE FROM ledger_account WHERE kind = 'wallet' AND shop_id IS NULL")
    )
    unknown = connection.execute(
        sa.text("SELECT id, kind, owner_id FROM ledger_account WHERE shop_id IS NULL")
    ).all()
    if unknown:
        raise RuntimeError(f"accounts whose shop can not be told: {unknown[:20]}")


def _store_escrow_shops(connection: Connection, replay: _Replay) -> None:
    """Write the shops the replay learned for non-wallet accounts (shoppers' envelopes)."""
    learned = [
        {"id": account_id, "shop": shop_id}
        for account_id, shop_id in replay.shop.items()
        if shop_id is not None and account_id not in replay.owner
    ]
    if learned:
        connection.execute(
            sa.text("UPDATE ledger_account SET shop_id = :shop WHERE id = :id AND shop_id IS NULL"),
            learned,
        )


def downgrade() -> None:
    """One wallet per shopper again: each shopper's wallets merge into their oldest."""
    with op.batch_alter_table("ledger_transfer", schema=None) as batch_op:
        for side in ("from", "to"):
            batch_op.drop_constraint(f"fk_ledger_transfer_{side}_account_same_shop", "foreignkey")
        batch_op.drop_column("shop_id")
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ledger_account_shop_id_shop", type_="foreignkey")
        batch_op.drop_constraint("uq_ledger_account_id_shop_id", type_="unique")
        batch_op.drop_constraint("uq_ledger_account_kind_owner_id_shop_id", type_="unique")
    connection = op.get_bind()
    merge_into = (
        "(SELECT MIN(m.id) FROM ledger_account m JOIN ledger_account w ON w.owner_id = m.owner_id"
        " AND m.kind = 'wallet' WHERE w.kind = 'wallet' AND w.id = {column})"
    )
    for column in ("ledger_transfer.from_account_id", "ledger_transfer.to_account_id"):
        connection.execute(
            sa.text(
                f"UPDATE ledger_transfer SET {column.split('.')[1]} = "
                f"{merge_into.format(column=column)}"
                f" WHERE {column} IN (SELECT id FROM ledger_account WHERE kind = 'wallet')"
            )
        )
    connection.execute(
        sa.text(
            "UPDATE envelope SET funder_account_id = "
            f"{merge_into.format(column='envelope.funder_account_id')}"
            " WHERE sender_shopper_id IS NOT NULL"
        )
    )
    connection.execute(
        sa.text(
            "DELETE FROM ledger_account WHERE kind = 'wallet' AND id NOT IN"
            " (SELECT MIN(id) FROM ledger_account WHERE kind = 'wallet' GROUP BY owner_id)"
        )
    )
    connection.execute(sa.text(_RECOMPUTE_WALLETS))
    with op.batch_alter_table("ledger_account", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_ledger_account_kind_owner_id", ["kind", "owner_id"])
        batch_op.drop_column("shop_id")
    with op.batch_alter_table("ledger_transfer", schema=None) as batch_op:
        for side in ("from", "to"):
            batch_op.create_foreign_key(
                f"fk_ledger_transfer_{side}_account_id_ledger_account",
                "ledger_account",
                [f"{side}_account_id"],
                ["id"],
            )
