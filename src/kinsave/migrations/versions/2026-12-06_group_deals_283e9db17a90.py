"""group deals: deals, their groups and members (set_price coupons need no schema change)

Revision ID: 283e9db17a90
Revises: f1a2b3c4d5e6
Create Date: 2026-12-06 16:15:17.796723
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "283e9db17a90"
down_revision: str | None = "f1a2b3c4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "group_deal",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("regular_price", sa.BigInteger(), nullable=False),
        sa.Column("group_price", sa.BigInteger(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("units_taken", sa.BigInteger(), nullable=False),
        sa.Column("per_shopper_limit", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("starts_at", kinsave.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", kinsave.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("group_price >= 0", name=op.f("ck_group_deal_group_price_not_negative")),
        sa.CheckConstraint(
            "group_size >= 2 AND group_size <= 50", name=op.f("ck_group_deal_group_size_in_range")
        ),
        sa.CheckConstraint("per_shopper_limit >= 1", name=op.f("ck_group_deal_limit_positive")),
        sa.CheckConstraint(
            "units_taken >= 0 AND units_taken <= units",
            name=op.f("ck_group_deal_units_within_stock"),
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], name=op.f("fk_group_deal_shop_id_shop")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_template.id"],
            name=op.f("fk_group_deal_template_id_coupon_template"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_deal")),
    )
    with op.batch_alter_table("group_deal", schema=None) as batch_op:
        batch_op.create_index("ix_group_deal_shop_id_status", ["shop_id", "status"], unique=False)

    op.create_table(
        "deal_group",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("deal_id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("starter_id", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", kinsave.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "members >= 0 AND members <= size", name=op.f("ck_deal_group_members_within_size")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["group_deal.id"], name=op.f("fk_deal_group_deal_id_group_deal")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], name=op.f("fk_deal_group_shop_id_shop")),
        sa.ForeignKeyConstraint(
            ["starter_id"], ["shopper.id"], name=op.f("fk_deal_group_starter_id_shopper")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_group")),
    )
    with op.batch_alter_table("deal_group", schema=None) as batch_op:
        batch_op.create_index("ix_deal_group_deal_id_status", ["deal_id", "status"], unique=False)
        batch_op.create_index(
            "ix_deal_group_status_expires_at", ["status", "expires_at"], unique=False
        )

    op.create_table(
        "group_member",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.Column("deal_id", sa.String(length=40), nullable=False),
        sa.Column("shopper_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("open_deal_id", sa.String(length=40), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
        sa.Column("coupon_id", sa.String(length=40), nullable=True),
        sa.Column("joined_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_group_member_position_positive")),
        sa.CheckConstraint("slot >= 1", name=op.f("ck_group_member_slot_positive")),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["group_deal.id"], name=op.f("fk_group_member_deal_id_group_deal")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["deal_group.id"], name=op.f("fk_group_member_group_id_deal_group")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shopper.id"], name=op.f("fk_group_member_shopper_id_shopper")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_member")),
        sa.UniqueConstraint(
            "deal_id", "shopper_id", "slot", name=op.f("uq_group_member_deal_id_shopper_id_slot")
        ),
        sa.UniqueConstraint("group_id", "position", name=op.f("uq_group_member_group_id_position")),
        sa.UniqueConstraint(
            "group_id", "shopper_id", name=op.f("uq_group_member_group_id_shopper_id")
        ),
        sa.UniqueConstraint(
            "open_deal_id", "shopper_id", name=op.f("uq_group_member_open_deal_id_shopper_id")
        ),
    )
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.create_index("ix_group_member_shopper_id", ["shopper_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.drop_index("ix_group_member_shopper_id")

    op.drop_table("group_member")
    with op.batch_alter_table("deal_group", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_group_status_expires_at")
        batch_op.drop_index("ix_deal_group_deal_id_status")

    op.drop_table("deal_group")
    with op.batch_alter_table("group_deal", schema=None) as batch_op:
        batch_op.drop_index("ix_group_deal_shop_id_status")

    op.drop_table("group_deal")
