"""Revision 7a1c0d2e3f41 splits every single wallet into one wallet per shop, exactly.

fixtures/old_demo.db.gz is a database the old code made at revision 5d0c3b7e91a4 (how: see
fixtures/make_old_demo.py): the demo data plus a second shop, a shopper (auntie) holding credit
of both who paid with credit at one and sent a lucky envelope of the other's, and a grabber of it.
The test upgrades a copy (SQLite as it is; PostgreSQL after copying its rows into a database
migrated to the old revision), then checks reconcile and every per-shop balance.
"""

import gzip
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Boolean, DateTime, MetaData, create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from sqlalchemy.types import JSON

from kinsave.auth.models import Shop
from kinsave.config import Settings, normalize_database_url
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.demo import DEMO_SHOP
from kinsave.envelopes import grabs
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.models import Envelope
from kinsave.ledger import service as ledger
from kinsave.migrate import alembic_config
from kinsave.social import help_requests
from tests.conftest import BACKENDS, PG_ADMIN_URL

FIXTURE = Path(__file__).parent / "fixtures" / "old_demo.db.gz"
OLD_REVISION = "5d0c3b7e91a4"
BAKERY = "Corner Bakery"


@pytest.fixture
def old_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "old_demo.db"
    with gzip.open(FIXTURE) as packed, path.open("wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def old_database(request: pytest.FixtureRequest, old_sqlite: str) -> Iterator[str]:
    """A database at the old revision holding the fixture's rows, on each backend."""
    if request.param == "sqlite":
        yield old_sqlite
        return
    admin_url = normalize_database_url(PG_ADMIN_URL)
    name = f"kinsave_split_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach the server counts
        pytest.skip(f"PostgreSQL is unreachable: {error}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), OLD_REVISION)
    target = create_engine(url, poolclass=NullPool)
    _copy_rows(create_engine(old_sqlite, poolclass=NullPool), target)
    target.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _copy_rows(source: Engine, target: Engine) -> None:
    """Every row of the old SQLite database into the same tables on PostgreSQL, plain SQL."""
    tables = MetaData()
    tables.reflect(target)
    with source.connect() as reading, target.begin() as writing:
        for table in tables.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [
                dict(row._mapping) for row in reading.execute(text(f'SELECT * FROM "{table.name}"'))
            ]
            for row in rows:
                for column in table.columns:
                    value = row[column.name]
                    if value is None:
                        continue
                    if isinstance(column.type, Boolean):
                        row[column.name] = bool(value)
                    elif isinstance(column.type, JSON):
                        row[column.name] = json.loads(value)
                    elif isinstance(column.type, DateTime):
                        row[column.name] = f"{value}+00:00"  # stored as naive UTC text
            if rows:
                writing.execute(table.insert(), rows)
            if "id" in table.columns and table.columns["id"].autoincrement is True:
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f' (SELECT COALESCE(MAX(id), 0) + 1 FROM "{table.name}"), false)'
                    )
                )


def _old_wallets(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT owner_id, balance FROM ledger_account WHERE kind = 'wallet'")
        ).all()
    engine.dispose()
    return {owner: balance for owner, balance in rows}


def _upgraded(url: str) -> Iterator[Engine]:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(Settings(database_url=url, sweeper_enabled=False))
    yield engine
    engine.dispose()


def _shop(session: Session, name: str) -> str:
    shop_id: str = session.execute(select(Shop.id).where(Shop.name == name)).scalar_one()
    return shop_id


class TestWalletSplit:
    def test_each_wallet_splits_by_issuer_exactly_and_reconciles(self, old_database: str):
        before = _old_wallets(old_database)
        for engine in _upgraded(old_database):
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                report = ledger.reconcile(session)
                report.domain_problems = envelopes.escrow_problems(
                    session
                ) + help_requests.escrow_problems(session)
                market, bakery = _shop(session, DEMO_SHOP), _shop(session, BAKERY)
                after = {
                    shopper: {
                        b.shop_id: b.balance for b in ledger.wallet_balances(session, shopper)
                    }
                    for shopper in before
                }
            assert report.clean, report.model_dump()
            assert not report.unbalanced_shops and not report.cross_shop_transfers
            # Nothing was created or lost: each shopper's shops add up to the old wallet.
            assert {shopper: sum(shops.values()) for shopper, shops in after.items()} == before
            # auntie: 1500 market credit - 1000 paid there; 2000 bakery credit - 600 envelope.
            assert after["auntie"] == {market: 500, bakery: 1400}
            assert after["uncle"] == {bakery: 200}  # his share of auntie's bakery envelope
            assert after["grandma"][bakery] == 700
            assert after["grandma"][market] == before["grandma"] - 700

    def test_an_old_envelope_keeps_paying_its_shops_credit(self, old_database: str):
        for engine in _upgraded(old_database):
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                envelope_id = session.execute(
                    select(Envelope.id).where(Envelope.sender_shopper_id == "auntie")
                ).scalar_one()
                grabs.grab_share(session, envelope_id, "mum")
                bakery = _shop(session, BAKERY)
                assert ledger.wallet_balance(session, "mum", bakery) == 200
                assert envelopes.audit_envelope(session, envelope_id).escrow_matches_open_shares
                assert ledger.reconcile(session).clean

    def test_downgrade_merges_the_wallets_back(self, old_sqlite: str):
        before = _old_wallets(old_sqlite)
        config = alembic_config(old_sqlite)
        command.upgrade(config, "head")
        command.downgrade(config, OLD_REVISION)
        assert _old_wallets(old_sqlite) == before
