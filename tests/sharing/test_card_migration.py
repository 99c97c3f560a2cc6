"""Revision d4e5f6a7b8c9: stored policy versions keep their mini-app card (on where they have a
deep link), and the old hand-set Telegram base gives way to the bot's own link; downgrading
puts both back. On both databases: the rules are JSON, stored differently on each."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Integer, String, column, create_engine, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from kinsave.config import normalize_database_url
from kinsave.migrate import alembic_config
from tests.conftest import BACKENDS, PG_ADMIN_URL

BEFORE, AFTER = "c2f3a4b5d6e7", "d4e5f6a7b8c9"
OLD_TELEGRAM = {"format": "telegram_startapp", "base": "https://t.me/kinsave_bot/app"}
OWN_TELEGRAM = {"format": "telegram_startapp", "base": "https://t.me/TeaHouseBot/shop"}
WECHAT = {"format": "wechat_url_link", "base": "weixin://dl/business/?appid=wx1&path=p/i"}
STORED = {
    "wechat": {"links_allowed": False, "deep_link": WECHAT},
    "telegram": {"deep_link": OLD_TELEGRAM},
    "whatsapp": {"deep_link": OWN_TELEGRAM},
    "web": {"links_allowed": True, "deep_link": None},
}
policy = table(
    "channel_policy",
    column("id", Integer),
    column("shop_id", String),
    column("channel", String),
    column("version", Integer),
    column("rules", JSON),
    column("note", String),
    column("created_at"),
)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'card.db'}"
        return
    admin_url = normalize_database_url(PG_ADMIN_URL)
    name = f"kinsave_card_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach the server counts
        pytest.skip(f"PostgreSQL is unreachable: {error}")
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _rules(url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(select(policy.c.channel, policy.c.rules)).all()
    engine.dispose()
    return {row.channel: row.rules for row in rows}


def test_upgrade_keeps_cards_and_frees_the_telegram_base(database: str) -> None:
    config = alembic_config(database)
    command.upgrade(config, BEFORE)
    engine = create_engine(database, poolclass=NullPool)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO shop (id, name, created_at) VALUES ('shop_1', 'Tea', :now)"),
            {"now": now},
        )
        for channel, rules in STORED.items():
            connection.execute(
                policy.insert().values(
                    shop_id="shop_1",
                    channel=channel,
                    version=1,
                    rules=rules,
                    note="",
                    created_at=now,
                )
            )
    engine.dispose()

    command.upgrade(config, AFTER)
    upgraded = _rules(database)
    assert {c: r["mini_app_card_allowed"] for c, r in upgraded.items()} == {
        "wechat": True,
        "telegram": True,
        "whatsapp": True,
        "web": False,
    }
    assert upgraded["telegram"]["deep_link"] == {"format": "telegram_startapp", "base": ""}
    assert upgraded["whatsapp"]["deep_link"] == OWN_TELEGRAM  # set by the operator: kept
    assert upgraded["wechat"]["deep_link"] == WECHAT
    assert upgraded["wechat"]["links_allowed"] is False

    command.downgrade(config, BEFORE)
    assert _rules(database) == STORED
