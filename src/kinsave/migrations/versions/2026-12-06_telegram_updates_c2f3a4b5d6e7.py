"""telegram bot: updates (replay refusal) and daily reminders

Revision ID: c2f3a4b5d6e7
Revises: 9c3e2f4a5b63
Create Date: 2026-12-06 14:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "c2f3a4b5d6e7"
down_revision: str | None = "9c3e2f4a5b63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_update")),
    )
    op.create_table(
        "telegram_reminder",
        sa.Column("shopper_id", sa.String(length=128), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("last_sent_day", sa.Date(), nullable=True),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shopper.id"], name=op.f("fk_telegram_reminder_shopper_id_shopper")
        ),
        sa.PrimaryKeyConstraint("shopper_id", name=op.f("pk_telegram_reminder")),
    )


def downgrade() -> None:
    op.drop_table("telegram_reminder")
    op.drop_table("telegram_update")
