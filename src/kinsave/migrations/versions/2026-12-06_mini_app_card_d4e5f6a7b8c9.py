"""channel policies: the mini-app card switch, and Telegram links derived from the bot

Policy rules are JSON, so the new `mini_app_card_allowed` needs no column; but versions stored
before it read as "no card", which would take the card away from every shop that once edited its
WeChat or Telegram policy. Each stored version gets the switch on where it has a deep link (as
the built-in defaults do), and the old placeholder Telegram base `https://t.me/kinsave_bot/app`
is emptied, so those links now come from the deployment's bot (telegram.identity).

Revision ID: d4e5f6a7b8c9
Revises: c2f3a4b5d6e7
Create Date: 2026-12-06 16:20:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "d4e5f6a7b8c9"
down_revision: str | None = "c2f3a4b5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TELEGRAM_BASE = "https://t.me/kinsave_bot/app"
policy = sa.table("channel_policy", sa.column("id", sa.BigInteger()), sa.column("rules", sa.JSON()))


def _upgraded(rules: dict[str, Any]) -> dict[str, Any]:
    deep_link = rules.get("deep_link")
    new = {**rules, "mini_app_card_allowed": bool(deep_link)}
    if deep_link and deep_link.get("base") == OLD_TELEGRAM_BASE:
        new["deep_link"] = {**deep_link, "base": ""}
    return new


def upgrade() -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(policy.c.id, policy.c.rules)).all():
        if "mini_app_card_allowed" in row.rules:
            continue
        connection.execute(
            policy.update().where(policy.c.id == row.id).values(rules=_upgraded(row.rules))
        )


def downgrade() -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(policy.c.id, policy.c.rules)).all():
        rules = {k: v for k, v in row.rules.items() if k != "mini_app_card_allowed"}
        deep_link = rules.get("deep_link")
        if deep_link and deep_link.get("format") == "telegram_startapp" and not deep_link["base"]:
            rules["deep_link"] = {**deep_link, "base": OLD_TELEGRAM_BASE}
        connection.execute(policy.update().where(policy.c.id == row.id).values(rules=rules))
