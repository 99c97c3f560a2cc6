"""price-cut helps remember the share they came through (attribution, as group members do)

Revision ID: b3d5e7f9a1c2
Revises: a7c31d0e5b92
Create Date: 2026-12-06 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3d5e7f9a1c2"
down_revision: str | None = "a7c31d0e5b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("price_cut_help") as batch:
        batch.add_column(sa.Column("via_share", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("price_cut_help") as batch:
        batch.drop_column("via_share")
