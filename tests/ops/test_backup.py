"""`kinsave backup` takes a copy of a live database with money in it while writes go on; the copy,
restored (SQLite: opened as it is; PostgreSQL: pg_restore into a new database), reconciles clean."""

import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from kinsave import demo
from kinsave.campaigns import service as campaigns
from kinsave.config import Settings, normalize_database_url
from kinsave.db import unit_of_work
from kinsave.ledger.models import Transfer
from tests.conftest import PG_ADMIN_URL
from tests.test_cli import kinsave


class CreditWriter:
    """Grants credit in its own transactions, one after another, until stopped."""

    def __init__(self, factory: sessionmaker[Session], shop_id: str, campaign_id: str) -> None:
        self.factory, self.shop_id, self.campaign_id = factory, shop_id, campaign_id
        self.stop = threading.Event()
        self.granted = 0
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        while not self.stop.is_set():
            with unit_of_work(self.factory) as session:
                campaigns.grant_credit(
                    session, self.shop_id, self.campaign_id, "mum", 100, key=uuid.uuid4().hex
                )
            self.granted += 1

    def __enter__(self) -> "CreditWriter":
        self.thread.start()
        while self.granted < 3:  # the writes are under way before the backup starts
            self.stop.wait(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def transfers_in(url: str) -> int:
    engine = create_engine(normalize_database_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Transfer)).scalar_one()
    engine.dispose()
    return count


@pytest.fixture
def restored_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Where the backup is restored: a file path for SQLite, a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"kinsave_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def restore(backup: Path, restored_url: str) -> None:
    if restored_url.startswith("sqlite"):
        backup.rename(make_url(restored_url).database or "")  # SQLite's copy is the database
        return
    done = subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={restored_url}", str(backup)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_a_backup_taken_during_writes_restores_and_reconciles_clean(
    database_url, session_factory, settings: Settings, tmp_path, restored_database
):
    with unit_of_work(session_factory) as session:
        seeded = demo.seed(session, settings)
    seeded_transfers = transfers_in(database_url)
    backup = tmp_path / "kinsave.backup"
    with CreditWriter(session_factory, seeded.shop_id, seeded.campaign_id) as writer:
        result = kinsave(database_url, "backup", str(backup))
        granted_before_the_end = writer.granted
    assert result.returncode == 0, result.stdout + result.stderr
    assert "written to" in result.stdout
    restore(backup, restored_database)
    copied = transfers_in(restored_database)
    # A snapshot from within the writes: everything seeded, some of the grants, not the later ones.
    assert seeded_transfers < copied <= seeded_transfers + granted_before_the_end + 1
    assert copied < transfers_in(database_url)
    reconciled = kinsave(restored_database, "reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "clean" in reconciled.stdout


def test_a_backup_never_overwrites_a_file(database_url, session_factory, tmp_path):
    existing = tmp_path / "precious"
    existing.write_text("keep me")
    result = kinsave(database_url, "backup", str(existing))
    assert result.returncode == 1
    assert "exists already" in result.stdout
    assert existing.read_text() == "keep me"
