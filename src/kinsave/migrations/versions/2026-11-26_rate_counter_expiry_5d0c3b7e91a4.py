"""rate counter expiry

Revision ID: 5d0c3b7e91a4
Revises: 129d60895344
Create Date: 2026-11-26 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "5d0c3b7e91a4"
down_revision: str | None = "129d60895344"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The counters carry no window end yet: dropping them resets each limit once, at upgrade.
    op.execute("DELETE FROM rate_counter")
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", kinsave.db.UTCDateTime(timezone=True), nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_rate_counter_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_counter_expires_at"))
        batch_op.drop_column("expires_at")
