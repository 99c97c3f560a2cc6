"""`kinsave worker` runs the background jobs for API processes served with --no-sweeper; several
workers at once still settle each item exactly once (the ledger reconciles: session_factory)."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from select import select as wait_readable

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes.models import Envelope
from kinsave.ledger.models import Transfer
from tests.factories import create_campaign, funded_shopper, shop_key
from tests.reliability.processes import ServerProcess

pytestmark = pytest.mark.slow
ENVELOPES = 12
STARTED_LOGS: dict[int, bytes] = {}  # per worker pid: its stderr read while it started


def expired_envelopes(api: httpx.Client, session_factory: sessionmaker[Session]) -> list[str]:
    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 100 * ENVELOPES)
    ids = [
        api.post("/v1/envelopes", json={"total": 100, "shares": 3}, headers=grandma).json()["id"]
        for _ in range(ENVELOPES)
    ]
    with unit_of_work(session_factory) as session:
        session.execute(
            update(Envelope)
            .where(Envelope.id.in_(ids))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    return ids


def open_count(session_factory: sessionmaker[Session], ids: list[str]) -> int:
    with unit_of_work(session_factory) as session:
        query = select(func.count()).where(Envelope.id.in_(ids), Envelope.status == "open")
        return int(session.execute(query).scalar_one())


def refunds(session_factory: sessionmaker[Session], ids: list[str]) -> int:
    keys = [f"envelope-refund:{envelope_id}" for envelope_id in ids]
    with unit_of_work(session_factory) as session:
        query = select(func.count()).where(Transfer.idempotency_key.in_(keys))
        return int(session.execute(query).scalar_one())


def start_worker(database_url: str) -> subprocess.Popen[bytes]:
    """A worker that has its stop signals in hand: a SIGTERM that came while it was still
    importing (a loaded machine) would end it by the signal, not by its graceful stop."""
    env = {
        **os.environ,
        "KINSAVE_DATABASE_URL": database_url,
        "KINSAVE_SWEEPER_INTERVAL_SECONDS": "0.1",
        "KINSAVE_DB_POOL_SIZE": "4",
        "KINSAVE_LOG_LEVEL": "info",  # its "worker started" line, logged after the handlers
    }
    command = [sys.executable, "-m", "kinsave.cli", "worker"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    STARTED_LOGS[worker.pid] = wait_started(worker)
    return worker


def wait_started(worker: subprocess.Popen[bytes]) -> bytes:
    """What the worker wrote up to and including its "worker started" line."""
    assert worker.stderr is not None
    deadline = time.monotonic() + 60
    read = b""
    while b"worker started" not in read:
        ready, _, _ = wait_readable([worker.stderr], [], [], max(0, deadline - time.monotonic()))
        if not ready:
            worker.kill()
            pytest.fail(f"the worker did not start within 60 s: {read.decode()}")
        chunk = os.read(worker.stderr.fileno(), 65536)  # unbuffered: what select saw
        assert chunk, f"the worker ended before it started: {read.decode()}"
        read += chunk
    return read


def wait_until_settled(session_factory: sessionmaker[Session], ids: list[str]) -> None:
    deadline = time.monotonic() + 60
    while open_count(session_factory, ids):
        assert time.monotonic() < deadline, "the workers did not expire the envelopes"
        time.sleep(0.1)


def stop(worker: subprocess.Popen[bytes]) -> bytes:
    worker.send_signal(signal.SIGTERM)
    _, errors = worker.communicate(timeout=20)
    errors = STARTED_LOGS.pop(worker.pid, b"") + errors
    assert worker.returncode == 0, errors.decode()
    return errors


class TestWorker:
    def test_two_workers_refund_each_envelope_once(
        self, api: httpx.Client, session_factory: sessionmaker[Session], database_url: str
    ) -> None:
        ids = expired_envelopes(api, session_factory)
        workers = [start_worker(database_url), start_worker(database_url)]
        try:
            wait_until_settled(session_factory, ids)
            time.sleep(0.5)  # both keep passing over the settled envelopes
        finally:
            logs = [stop(worker) for worker in workers]
        assert refunds(session_factory, ids) == ENVELOPES
        assert all(b"Traceback" not in log for log in logs)

    def test_serve_without_sweeper_leaves_the_jobs_to_a_worker(
        self, api: httpx.Client, session_factory: sessionmaker[Session], database_url: str
    ) -> None:
        ids = expired_envelopes(api, session_factory)
        server = ServerProcess(database_url, "--no-sweeper", KINSAVE_SWEEPER_INTERVAL_SECONDS="0.1")
        server.env.pop("KINSAVE_SWEEPER_ENABLED")  # on, unless --no-sweeper turns it off
        try:
            server.start()
            time.sleep(1)  # ten sweeper intervals: an API process with a sweeper would expire
            assert open_count(session_factory, ids) == ENVELOPES
            worker = start_worker(database_url)
            try:
                wait_until_settled(session_factory, ids)
            finally:
                stop(worker)
        finally:
            server.stop()
        assert refunds(session_factory, ids) == ENVELOPES
