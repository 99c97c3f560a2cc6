"""Real databases for every test: a SQLite file and a fresh PostgreSQL database per run.

Tests that take `database_url` (directly or through `session_factory`, `api`, ...) run once per
backend. With CI=true an unreachable PostgreSQL or Redis fails the run instead of skipping it.
"""

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from kinsave.app import create_app
from kinsave.config import Settings, get_settings, normalize_database_url
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.envelopes import service as envelopes
from kinsave.ledger import service as ledger
from kinsave.migrate import upgrade_to_head
from kinsave.models import Base
from kinsave.ops.http_protocol import OneWriteHttpToolsProtocol
from kinsave.social import help_requests

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = os.environ.get("KINSAVE_TEST_BACKENDS", "sqlite,postgresql").split(",")
PG_ADMIN_URL = os.environ.get("KINSAVE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KINSAVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _unreachable(what: str, error: Exception) -> None:
    message = f"{what} is unreachable: {error}"
    if IN_CI:
        pytest.fail(message + " (CI=true: services must be up; .ci/run starts them)")
    pytest.skip(message)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'kinsave.db'}"
        return
    admin_url = normalize_database_url(PG_ADMIN_URL)
    name = f"kinsave_test_{uuid.uuid4().hex[:10]}"
    try:
        # No pooled connection to go stale if a test restarts PostgreSQL in between.
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach the server counts
        _unreachable("PostgreSQL", error)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        dev_login=True,
        sweeper_enabled=False,
        sqlite_synchronous="NORMAL",  # tests need no power-loss durability
        # Every test client is 127.0.0.1: storms would trip the per-IP limits. The limits have
        # their own tests (tests/security/test_rate_limits.py) with a server that enables them.
        rate_limits_enabled=False,
        # Webhook receivers in tests listen on 127.0.0.1; tests/webhooks/test_destination.py
        # runs its own server with the check on.
        webhook_allow_private_urls=True,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    upgrade_to_head(settings)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))


def assert_reconciled(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        report = ledger.reconcile(session)
        report.domain_problems = envelopes.escrow_problems(session) + help_requests.escrow_problems(
            session
        )
    assert report.clean, report.model_dump()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A clean database for this test; the ledger must reconcile when the test ends."""
    _wipe(engine)
    factory = make_session_factory(engine)
    yield factory
    assert_reconciled(factory)


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """Runs `kinsave` commands in this process, against the test's database."""
    monkeypatch.setenv("KINSAVE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving the real app on a real port, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.port = _free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            http=OneWriteHttpToolsProtocol,  # as `kinsave serve` runs uvicorn (ops/serving.py)
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(live_server: LiveServer, session_factory: sessionmaker[Session]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        yield client


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as error:  # noqa: BLE001
        _unreachable("Redis", error)
    return REDIS_URL


@pytest.fixture
def private_redis() -> Iterator[Any]:
    """A `redis-server` of this test's own on a free port: it may be stopped or frozen freely."""
    import shutil

    from tests.reliability.processes import RedisProcess  # here: processes.py imports this module

    if shutil.which("redis-server") is None:
        _unreachable("redis-server", FileNotFoundError("redis-server is not installed"))
    server = RedisProcess().start()
    yield server
    server.kill()


def _cluster_ports() -> list[int]:
    """Three free ports whose cluster bus ports (+10000) are free too: not the script's default
    ports (a bench may hold those), and not another test run's."""
    ports: list[int] = []
    while len(ports) < 3:
        port = 20000 + int.from_bytes(os.urandom(2)) % 10000
        if port not in ports and all(_port_is_free(p) for p in (port, port + 10000)):
            ports.append(port)
    return ports


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def redis_cluster() -> Iterator[str]:
    """A 3-node Redis Cluster of this test's own (scripts/redis-cluster.sh), as a
    `redis+cluster://` URL; not skipped: a missing redis-server fails the test."""
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: the cluster test can not run")
    ports = _cluster_ports()
    env = {**os.environ, "KINSAVE_CLUSTER_PORTS": " ".join(map(str, ports))}
    env["KINSAVE_CLUSTER_DIR"] = f"/tmp/kinsave-cluster-test-{os.getpid()}-{ports[0]}"
    script = str(Path(__file__).resolve().parents[1] / "scripts" / "redis-cluster.sh")
    try:
        subprocess.run([script, "start"], check=True, env=env, timeout=60, capture_output=True)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        subprocess.run([script, "stop"], check=False, env=env, timeout=60, capture_output=True)
