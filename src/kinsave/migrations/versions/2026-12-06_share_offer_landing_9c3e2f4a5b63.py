"""share offer and store landing

Revision ID: 9c3e2f4a5b63
Revises: 8b2d1e3f4a52
Create Date: 2026-12-06 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "9c3e2f4a5b63"
down_revision: str | None = "8b2d1e3f4a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("share", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coupon_template_id", sa.String(length=40), nullable=True))
    op.create_table(
        "share_claim",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("share_code", sa.String(length=11), nullable=False),
        sa.Column("shopper_id", sa.String(length=128), nullable=False),
        sa.Column("coupon_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["share_code"], ["share.code"], name=op.f("fk_share_claim_share_code_share")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_claim")),
        sa.UniqueConstraint(
            "share_code", "shopper_id", name=op.f("uq_share_claim_share_code_shopper_id")
        ),
    )
    op.create_table(
        "store_landing",
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("updated_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shop.id"], name=op.f("fk_store_landing_shop_id_shop")
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_store_landing")),
    )


def downgrade() -> None:
    op.drop_table("store_landing")
    op.drop_table("share_claim")
    with op.batch_alter_table("share", schema=None) as batch_op:
        batch_op.drop_column("coupon_template_id")
