"""circle envelopes: a shopper's envelope sent to their family circle

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-06 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "e5f6a7b8c9d0"
down_revision: str | None = "d4e5f6a7b8c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "circle_envelope",
        sa.Column("envelope_id", sa.String(length=40), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("sent_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["envelope_id"], ["envelope.id"], name=op.f("fk_circle_envelope_envelope_id_envelope")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["shopper.id"], name=op.f("fk_circle_envelope_sender_id_shopper")
        ),
        sa.PrimaryKeyConstraint("envelope_id", name=op.f("pk_circle_envelope")),
    )
    op.create_index(
        "ix_circle_envelope_sender_id_sent_at",
        "circle_envelope",
        ["sender_id", "sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_circle_envelope_sender_id_sent_at", table_name="circle_envelope")
    op.drop_table("circle_envelope")
