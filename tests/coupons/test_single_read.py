"""The quote's read outside any Session: the pooled connection goes back as it came, and a
dead one is read again on a fresh connection (the quote's pool pings none)."""

from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from kinsave.db import make_single_read_engine, single_read, single_read_connection


def _one_connection(engine: Engine) -> Engine:
    """The same database through a pool of exactly one connection."""
    return create_engine(engine.url, poolclass=StaticPool)


def test_no_transaction_around_the_read(engine: Engine) -> None:
    """One statement, no BEGIN and no COMMIT: the driver holds no transaction open."""
    with single_read_connection(engine) as driver:
        assert driver.execute("SELECT 1").fetchall()[0][0] == 1
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is True
            assert driver.info.transaction_status.name == "IDLE"
        else:
            assert driver.in_transaction is False


def test_the_connection_goes_back_transactional(engine: Engine) -> None:
    """PostgreSQL's connection is in autocommit for the read only: the next user of the pooled
    connection (a writer's unit of work) gets transactions again."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's pooled connections are always in the driver's autocommit")
    single = _one_connection(engine)
    try:
        with single_read_connection(single) as driver:
            driver.execute("SELECT 1").fetchall()
        with single.connect() as connection:
            assert connection.connection.driver_connection.autocommit is False
    finally:
        single.dispose()


def test_driver_errors_come_out_as_sqlalchemys(engine: Engine) -> None:
    with pytest.raises(DBAPIError):
        with single_read_connection(engine) as driver:
            driver.execute("SELECT no_such_column FROM no_such_table")
    with single_read_connection(engine) as driver:  # the pool still answers
        assert driver.execute("SELECT 1").fetchall()[0][0] == 1


def _backend_pid(driver: Any) -> int:
    return int(driver.execute("SELECT pg_backend_pid()").fetchall()[0][0])


class TestSingleReadEngine:
    def test_postgresql_reads_in_autocommit_without_a_ping(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite's quote reads from the engine itself")
        single = make_single_read_engine(engine)
        try:
            assert single.pool._pre_ping is False
            assert single_read(single, lambda driver: driver.autocommit) is True
        finally:
            single.dispose()

    def test_a_dead_connection_is_read_again_on_a_fresh_one(self, engine: Engine) -> None:
        """PostgreSQL ended the pooled connection (a restart, an idle timeout): the next read
        answers all the same, from another backend."""
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no server to lose")
        single = make_single_read_engine(engine)
        try:
            first = single_read(single, _backend_pid)
            with engine.begin() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            assert single_read(single, _backend_pid) != first
        finally:
            single.dispose()

    def test_a_failing_statement_is_not_run_twice(self, engine: Engine) -> None:
        single = make_single_read_engine(engine)
        calls = []

        def read(driver: Any) -> None:
            calls.append(1)
            driver.execute("SELECT no_such_column FROM no_such_table")

        try:
            with pytest.raises(DBAPIError):
                single_read(single, read)
            assert len(calls) == 1
        finally:
            if single is not engine:
                single.dispose()
