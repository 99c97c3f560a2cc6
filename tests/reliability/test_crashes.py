"""Crashes and outages with real processes on PostgreSQL: SIGKILL the server mid-storm, restart
PostgreSQL mid-storm, two API processes and two sweepers at once. Nothing acknowledged is lost,
nothing is half applied or paid twice, and the ledger reconciles (the fixture checks it)."""

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kinsave.db import unit_of_work
from kinsave.envelopes.models import EnvelopeShare
from tests.factories import create_campaign, shop_key
from tests.reliability.processes import ServerProcess

pytestmark = pytest.mark.slow
SHOPPERS = 40


@pytest.fixture
def postgresql_url(database_url, backend, session_factory) -> str:
    if backend != "postgresql":
        pytest.skip("process crashes are injected on PostgreSQL")
    return database_url


def _login_all(url: str) -> dict[str, dict[str, str]]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return {
            f"s{i}": {
                "Authorization": "Bearer "
                + client.post("/v1/auth/dev-login", json={"user_id": f"s{i}"}).json()["token"]
            }
            for i in range(SHOPPERS)
        }


def _envelope(url: str, session_factory) -> str:
    operator = shop_key(session_factory)
    with httpx.Client(base_url=url, timeout=30) as client:
        campaign = create_campaign(client, operator, budget=100_000)
        body = {"total": 6_000, "shares": SHOPPERS}
        path = f"/v1/admin/campaigns/{campaign['id']}/envelopes"
        return str(client.post(path, json=body, headers=operator).json()["id"])


def _grab(url: str, envelope_id: str, shopper: str, headers: dict[str, str]) -> Any:
    """The response, or None when no answer came back (the client cannot know what happened)."""
    key = {"Idempotency-Key": f"grab-{envelope_id}-{shopper}"}
    try:
        response = httpx.post(
            f"{url}/v1/envelopes/{envelope_id}/grab", headers=headers | key, timeout=10
        )
    except httpx.HTTPError:
        return None
    return response


def _storm(url, envelope_id, shoppers, *, during=None, after: int = 1) -> dict[str, Any]:
    """Every shopper grabs once from 8 threads; `during()` runs once `after` answers came."""
    results: dict[str, Any] = {}
    started = threading.Event()

    def one(item: tuple[str, dict[str, str]]) -> None:
        results[item[0]] = _grab(url, envelope_id, *item)
        if len(results) >= after:
            started.set()

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(one, item) for item in shoppers.items()]
        if during is not None:
            started.wait(30)
            during()
        for future in futures:
            future.result()
    return results


def _ledger_shares(session_factory, envelope_id: str) -> dict[str, int]:
    with unit_of_work(session_factory) as session:
        rows = session.execute(
            select(EnvelopeShare.grabbed_by, EnvelopeShare.amount).where(
                EnvelopeShare.envelope_id == envelope_id, EnvelopeShare.grabbed_by.is_not(None)
            )
        )
        return {row[0]: row[1] for row in rows}


def test_sigkill_mid_storm_loses_nothing_acknowledged(postgresql_url, session_factory):
    server = ServerProcess(postgresql_url).start()
    try:
        shoppers = _login_all(server.url)
        envelope_id = _envelope(server.url, session_factory)
        first = _storm(server.url, envelope_id, shoppers, during=server.kill, after=SHOPPERS // 3)
        acknowledged = {
            s: r.json()["amount"]
            for s, r in first.items()
            if r is not None and r.status_code == 200
        }
        unanswered = [s for s, r in first.items() if r is None]
        assert all(r is None or r.status_code == 200 for r in first.values()), first
        # Every acknowledged grab survived the kill; nothing else is in the ledger yet.
        in_ledger = _ledger_shares(session_factory, envelope_id)
        assert {s: in_ledger[s] for s in acknowledged} == acknowledged
        assert set(in_ledger) <= set(first)
        server = ServerProcess(postgresql_url).start()
        retried = {s: _grab(server.url, envelope_id, s, shoppers[s]) for s in shoppers}
        assert all(r is not None and r.status_code == 200 for r in retried.values())
        # Retries of acknowledged grabs replay the first answer; the unanswered run once now.
        for shopper, amount in acknowledged.items():
            assert retried[shopper].json()["amount"] == amount
            assert retried[shopper].headers.get("Idempotent-Replayed") == "true"
        final = _ledger_shares(session_factory, envelope_id)
        assert final == {s: r.json()["amount"] for s, r in retried.items()}
        assert sum(final.values()) == 6_000 and len(final) == SHOPPERS
        print(f"acknowledged before the kill: {len(acknowledged)}, unanswered: {len(unanswered)}")
    finally:
        server.kill()


def _restart_postgresql() -> None:
    version = next(Path("/etc/postgresql").iterdir()).name
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _ensure_postgresql_up() -> None:
    version = next(Path("/etc/postgresql").iterdir()).name
    status = subprocess.run(["pg_ctlcluster", version, "main", "status"], capture_output=True)
    if status.returncode != 0:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            timeout=60,
        )


def test_postgresql_restart_mid_storm_is_503_then_recovers(postgresql_url, session_factory):
    server = ServerProcess(postgresql_url).start()
    try:
        shoppers = _login_all(server.url)
        envelope_id = _envelope(server.url, session_factory)
        first = _storm(server.url, envelope_id, shoppers, during=_restart_postgresql)
        statuses = sorted({r.status_code if r is not None else 0 for r in first.values()})
        assert set(statuses) <= {200, 503}, statuses
        for response in first.values():
            if response is not None and response.status_code == 503:
                assert response.json()["error"]["code"] == "service_unavailable"
                assert int(response.headers["Retry-After"]) >= 1
        # The same process recovers by itself (pool pre-ping drops the dead connections).
        deadline = time.monotonic() + 30
        retried: dict[str, Any] = {}
        while time.monotonic() < deadline:
            retried = {s: _grab(server.url, envelope_id, s, shoppers[s]) for s in shoppers}
            if all(r is not None and r.status_code == 200 for r in retried.values()):
                break
            time.sleep(1)
        assert all(r is not None and r.status_code == 200 for r in retried.values())
        for shopper, response in first.items():
            if response is not None and response.status_code == 200:
                assert retried[shopper].json() == response.json()
        final = _ledger_shares(session_factory, envelope_id)
        assert sum(final.values()) == 6_000 and len(final) == SHOPPERS
        print(f"first pass: {statuses}")
    finally:
        _ensure_postgresql_up()
        server.kill()


def test_two_api_processes_and_two_sweepers_refund_once(postgresql_url, session_factory):
    """Both processes serve grabs and both run the sweeper every 0.1 s over the same envelopes."""
    env = {"KINSAVE_SWEEPER_ENABLED": "1", "KINSAVE_SWEEPER_INTERVAL_SECONDS": "0.1"}
    servers = [ServerProcess(postgresql_url, KINSAVE_ENVELOPE_TTL_SECONDS="3", **env)]
    servers.append(ServerProcess(postgresql_url, KINSAVE_ENVELOPE_TTL_SECONDS="3", **env))
    try:
        for server in servers:
            server.start()
        operator = shop_key(session_factory)
        shoppers = _login_all(servers[0].url)
        with httpx.Client(base_url=servers[1].url, timeout=30) as client:
            campaign = create_campaign(client, operator, budget=100_000)
            path = f"/v1/admin/campaigns/{campaign['id']}/envelopes"
            envelopes = [
                client.post(path, json={"total": 1_000, "shares": 10}, headers=operator).json()
                for _ in range(6)
            ]
        # Grabs through alternating processes while both sweepers race for the expiries.
        for i, (shopper, headers) in enumerate(list(shoppers.items())[:12]):
            _grab(servers[i % 2].url, envelopes[i % 6]["id"], shopper, headers)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _refunds(session_factory) < 6:
            time.sleep(0.3)
        time.sleep(1)  # both sweepers keep running over the closed envelopes
        assert _refunds(session_factory) == 6
        with httpx.Client(base_url=servers[0].url, timeout=30) as client:
            after = client.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
        grabbed = sum(sum(_ledger_shares(session_factory, e["id"]).values()) for e in envelopes)
        assert grabbed > 0 and after["budget_remaining"] == 100_000 - grabbed
    finally:
        for server in servers:
            server.kill()


def _refunds(session_factory) -> int:
    from kinsave.ledger.models import Transfer

    with unit_of_work(session_factory) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Transfer).where(Transfer.kind == "envelope_refund")
            )
            or 0
        )
