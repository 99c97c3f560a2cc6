"""group members remember the share they joined through (attribution, channel checks)

Revision ID: a7c31d0e5b92
Revises: ef9483772919
Create Date: 2026-12-06 17:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c31d0e5b92"
down_revision: str | None = "ef9483772919"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("group_member") as batch:
        batch.add_column(sa.Column("via_share", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("group_member") as batch:
        batch.drop_column("via_share")
