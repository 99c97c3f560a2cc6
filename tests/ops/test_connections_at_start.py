"""An API process opens its PostgreSQL connections at start (db.open_connections), waiting for a
database at its connection limit to free some, so that a storm's first second needs none."""

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from kinsave.config import normalize_database_url
from kinsave.db import open_connections
from tests.conftest import PG_ADMIN_URL

LIMIT = 3


@pytest.fixture
def limited_role_url() -> Iterator[str]:
    """A role of this test's own that may hold LIMIT connections (PostgreSQL refuses the next,
    as it does a server at max_connections)."""
    admin_url = normalize_database_url(PG_ADMIN_URL)
    role = f"ks_limited_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT {LIMIT}"))
    yield make_url(admin_url).set(username=role).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(
            text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        )
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def test_connections_wait_for_the_database_to_free_some(limited_role_url):
    others = create_engine(limited_role_url, poolclass=NullPool)
    held = [others.connect() for _ in range(LIMIT)]  # the database is full
    engine = create_engine(limited_role_url, poolclass=QueuePool, pool_size=5)
    opened: list[int] = []
    starting = threading.Thread(target=lambda: opened.append(open_connections(engine, 2)))
    starting.start()
    starting.join(timeout=1.0)
    assert starting.is_alive()  # refused, asking again
    for connection in held[:2]:
        connection.close()
    starting.join(timeout=30)
    assert opened == [2] and engine.pool.checkedin() == 2  # open, in the pool
    with engine.connect() as connection:  # the first request takes one of them
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    assert engine.pool.checkedin() == 2
    held[2].close()
    engine.dispose()


def test_after_its_patience_a_process_starts_with_what_it_has(limited_role_url, caplog):
    others = create_engine(limited_role_url, poolclass=NullPool)
    held = [others.connect() for _ in range(LIMIT - 1)]
    engine = create_engine(limited_role_url, poolclass=QueuePool, pool_size=5)
    assert open_connections(engine, 3, patience_seconds=0.5) == 1
    assert engine.pool.checkedin() == 1
    assert "opened 1 of 3 connections" in caplog.text
    for connection in held:
        connection.close()
    engine.dispose()
