"""A scratch database of the run's backend that a test may leave behind, break or drop."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from kinsave.config import normalize_database_url
from tests.conftest import PG_ADMIN_URL


class ScratchDatabase:
    """An empty database beside the run's own: a SQLite file in its own folder, or a fresh
    PostgreSQL database; `drop()` makes it vanish under whoever is using it."""

    def __init__(self, backend_url: str, folder: Path) -> None:
        self.sqlite = backend_url.startswith("sqlite")
        self.folder = folder / "scratch"
        self.name = f"kinsave_scratch_{uuid.uuid4().hex[:10]}"
        self.admin_url = normalize_database_url(PG_ADMIN_URL)
        if self.sqlite:
            self.url = f"sqlite:///{self.folder / 'kinsave.db'}"
        else:
            url = make_url(self.admin_url).set(database=self.name)
            self.url = url.render_as_string(hide_password=False)
        self.create()

    def create(self) -> None:
        if self.sqlite:
            self.folder.mkdir()
        else:
            self._admin(f'CREATE DATABASE "{self.name}"')

    def _admin(self, statement: str) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(statement))
        admin.dispose()

    def drop(self) -> None:
        if self.sqlite:
            for file in self.folder.iterdir():
                file.unlink()
            self.folder.rmdir()
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def scratch_database(database_url: str, tmp_path: Path) -> Iterator[ScratchDatabase]:
    scratch = ScratchDatabase(database_url, tmp_path)
    yield scratch
    if not scratch.sqlite or scratch.folder.exists():
        scratch.drop()
