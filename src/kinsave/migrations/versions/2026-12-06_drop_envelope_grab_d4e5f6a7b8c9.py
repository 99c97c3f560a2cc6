"""envelopes: drop the envelope_grab ticket; the share's grabber is the one record of a grab

A grab is booked by one implementation (envelopes/grabs.py), which records the grabber on the
share row (unique per envelope and grabber). The ticket was written by only one of the former
paths, so a retry after a grab of another path answered `conflict` instead of `already_grabbed`.

Revision ID: d4e5f6a7b8c9
Revises: c2f3a4b5d6e7
Create Date: 2026-12-06 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "d4e5f6a7b8c9"
down_revision: str | None = "c2f3a4b5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("envelope_grab")


def downgrade() -> None:
    op.create_table(
        "envelope_grab",
        sa.Column("envelope_id", sa.String(length=40), nullable=False),
        sa.Column("shopper_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["envelope_id"], ["envelope.id"], name=op.f("fk_envelope_grab_envelope_id_envelope")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shopper.id"], name=op.f("fk_envelope_grab_shopper_id_shopper")
        ),
        sa.PrimaryKeyConstraint("envelope_id", "shopper_id", name=op.f("pk_envelope_grab")),
    )
    # Every share already grabbed gets its ticket back.
    op.execute(
        "INSERT INTO envelope_grab (envelope_id, shopper_id, created_at)"
        " SELECT envelope_id, grabbed_by, grabbed_at FROM envelope_share"
        " WHERE grabbed_by IS NOT NULL"
    )
