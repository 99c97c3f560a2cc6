"""price cuts with friends: offers (fixed schedules), requests and each helper's cut

Revision ID: ef9483772919
Revises: 283e9db17a90
Create Date: 2026-12-06 16:39:04.577794
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinsave.db

revision: str = "ef9483772919"
down_revision: str | None = "283e9db17a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_cut_offer",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("regular_price", sa.BigInteger(), nullable=False),
        sa.Column("final_price", sa.BigInteger(), nullable=False),
        sa.Column("helpers_needed", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("units_taken", sa.BigInteger(), nullable=False),
        sa.Column("template_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "final_price >= 0 AND final_price < regular_price",
            name=op.f("ck_price_cut_offer_price_cut"),
        ),
        sa.CheckConstraint(
            "helpers_needed >= 1 AND helpers_needed <= 50",
            name=op.f("ck_price_cut_offer_helpers_in_range"),
        ),
        sa.CheckConstraint(
            "units_taken >= 0 AND units_taken <= units",
            name=op.f("ck_price_cut_offer_units_within_stock"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shop.id"], name=op.f("fk_price_cut_offer_shop_id_shop")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_template.id"],
            name=op.f("fk_price_cut_offer_template_id_coupon_template"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_cut_offer")),
    )
    with op.batch_alter_table("price_cut_offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_cut_offer_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "price_cut",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("requester_id", sa.String(length=128), nullable=False),
        sa.Column("regular_price", sa.BigInteger(), nullable=False),
        sa.Column("final_price", sa.BigInteger(), nullable=False),
        sa.Column("helpers_needed", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("helped", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("coupon_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", kinsave.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "helped >= 0 AND helped <= helpers_needed", name=op.f("ck_price_cut_helped_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["price_cut_offer.id"], name=op.f("fk_price_cut_offer_id_price_cut_offer")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["shopper.id"], name=op.f("fk_price_cut_requester_id_shopper")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], name=op.f("fk_price_cut_shop_id_shop")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_cut")),
    )
    with op.batch_alter_table("price_cut", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_cut_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_price_cut_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(
            "ix_price_cut_state_deadline_at", ["state", "deadline_at"], unique=False
        )
        batch_op.create_index(
            "uq_price_cut_open_offer_requester",
            ["offer_id", "requester_id"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    op.create_table(
        "price_cut_help",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("cut_id", sa.String(length=40), nullable=False),
        sa.Column("helper_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("helped_at", kinsave.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_price_cut_help_position_positive")),
        sa.ForeignKeyConstraint(
            ["cut_id"], ["price_cut.id"], name=op.f("fk_price_cut_help_cut_id_price_cut")
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"], ["shopper.id"], name=op.f("fk_price_cut_help_helper_id_shopper")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_cut_help")),
        sa.UniqueConstraint("cut_id", "helper_id", name=op.f("uq_price_cut_help_cut_id_helper_id")),
        sa.UniqueConstraint("cut_id", "position", name=op.f("uq_price_cut_help_cut_id_position")),
    )


def downgrade() -> None:
    op.drop_table("price_cut_help")
    with op.batch_alter_table("price_cut", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_price_cut_open_offer_requester",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index("ix_price_cut_state_deadline_at")
        batch_op.drop_index(batch_op.f("ix_price_cut_requester_id"))
        batch_op.drop_index(batch_op.f("ix_price_cut_offer_id"))

    op.drop_table("price_cut")
    with op.batch_alter_table("price_cut_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_cut_offer_shop_id"))

    op.drop_table("price_cut_offer")
