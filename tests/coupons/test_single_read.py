"""The quote's read outside any Session: the pooled connection goes back as it came."""

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from kinsave.db import single_read_connection


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
