"""Throwaway bench databases: a SQLite file in a temp folder, a fresh PostgreSQL database."""

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from kinsave.config import normalize_database_url

DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def temporary_database(kind_or_url: str) -> Iterator[str]:
    """ "sqlite" / "postgresql" make a temporary database (dropped after); a URL is used as is."""
    if kind_or_url == "sqlite":
        folder = tempfile.mkdtemp(prefix="kinsave-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind_or_url != "postgresql":
        yield normalize_database_url(kind_or_url)
        return
    admin_url = normalize_database_url(DEFAULT_PG_ADMIN)
    name = f"kinsave_bench_{secrets.token_hex(5)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)


def _drop(admin: Engine, name: str) -> None:
    # Other jobs on a shared server may end idle admin connections; a fresh one does the drop.
    for attempt in range(3):
        admin.dispose()
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except OperationalError:
            if attempt == 2:
                raise
