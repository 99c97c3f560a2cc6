"""coupon templates count the changes of their terms (terms_version), kept by the database

The checkout quote keeps each template's terms per process, keyed by (id, terms_version)
(decision 39). A trigger bumps terms_version whenever an UPDATE writes one of the terms' columns,
so every code path, raw SQL included, keeps the cached terms exact. UPDATE OF: the claims' and
grants' `issued = issued + 1` and the status changes do not fire it.

A later migration that recreates coupon_template on SQLite (batch_alter_table with a
recreate) drops its triggers: it must create TERMS_TRIGGER again
(tests/coupons/test_template_terms.py fails otherwise).

Revision ID: 5e1b7c9d3f20
Revises: b3d5e7f9a1c2
Create Date: 2026-12-07 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1b7c9d3f20"
down_revision: str | None = "b3d5e7f9a1c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the optimiser reads of a template (coupons.held.TemplateTerms).
TERMS = (
    "name, kind, amount, percent, cap, threshold, min_spend, scope_kind, scope_values,"
    " stacking_group, credit_combinable"
)
TRIGGER = "coupon_template_terms_changed"
FUNCTION = "coupon_template_bump_terms_version"

SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER UPDATE OF {TERMS} ON coupon_template
FOR EACH ROW BEGIN
    UPDATE coupon_template SET terms_version = OLD.terms_version + 1 WHERE id = OLD.id;
END
"""
PG_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
    NEW.terms_version := OLD.terms_version + 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} BEFORE UPDATE OF {TERMS} ON coupon_template
FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()
"""


def upgrade() -> None:
    op.add_column(
        "coupon_template",
        sa.Column("terms_version", sa.Integer(), server_default="1", nullable=False),
    )
    if _postgres():
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(f"DROP TRIGGER {TRIGGER}" + (" ON coupon_template" if _postgres() else ""))
    if _postgres():
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    with op.batch_alter_table("coupon_template") as batch:
        batch.drop_column("terms_version")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
