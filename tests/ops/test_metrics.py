"""/metrics: Prometheus text for the holder of the token, off without one; requests counted by
route template and status, summed across the API processes of `kinsave serve --workers 2`."""

import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from kinsave.app import create_app
from kinsave.config import Settings
from kinsave.jobs import Sweeper
from tests.factories import create_campaign, funded_shopper, shop_key
from tests.reliability.processes import ServerProcess

TOKEN = "metrics-secret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


class TestAccess:
    def test_off_without_a_token(self, api: httpx.Client) -> None:
        assert api.get("/metrics").status_code == 404

    def test_the_token_is_required(self, settings: Settings, session_factory: object) -> None:
        app = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
        with TestClient(app) as client:
            assert client.get("/metrics").status_code == 401
            wrong = {"Authorization": "Bearer not-it"}
            assert client.get("/metrics", headers=wrong).status_code == 401
            response = client.get("/metrics", headers=BEARER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert TOKEN not in response.text


class TestContent:
    def test_requests_business_totals_and_the_sweeper(
        self, settings: Settings, session_factory: sessionmaker[Session], api: httpx.Client
    ) -> None:
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        funded_shopper(api, operator, campaign["id"], "grandma", 500)
        app = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
        Sweeper(session_factory, 60, settings).sweep_once()
        with TestClient(app) as client:
            before = client.get("/metrics", headers=BEARER).text
            for _ in range(3):
                client.get("/app/s/SECRETCODE42")
            text = client.get("/metrics", headers=BEARER).text
        route = {"method": "GET", "route": "/app/s/{code}"}
        counted = value(text, "kinsave_http_requests_total", **route, status="404")
        assert counted - value(before, "kinsave_http_requests_total", **route, status="404") == 3
        assert value(text, "kinsave_http_request_duration_seconds_count", **route) >= 3
        assert "SECRETCODE42" not in text
        issued = [
            v
            for (name, labels), v in samples(text).items()
            if name == "kinsave_ledger_transfer_amount_minor_units"
            and dict(labels)["kind"] != "campaign_funding"
        ]
        assert sum(issued) == 500  # the credit given to grandma
        assert value(text, "kinsave_webhook_backlog") == 0
        assert (
            value(text, "kinsave_sweeper_last_success_timestamp_seconds", job="envelope expiry") > 0
        )
        assert "kinsave_db_pool_checked_out" in text


HEALTHZ_OK = {"method": "GET", "route": "/healthz", "status": "200"}


def healthz_counts(folder: Path) -> dict[str, float]:
    """Each API process's own count of answered /healthz, read from its file alone."""
    counts = {}
    for file in sorted(folder.glob("counter_*.db")):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(file, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, alone)
            text = generate_latest(registry).decode()
        counts[file.name] = value(text, "kinsave_http_requests_total", **HEALTHZ_OK)
    return counts


def until_each_process_answered(
    server: ServerProcess, folder: Path, processes: int, at_least: int
) -> int:
    """/healthz, at least `at_least` times and until each of the processes has counted one;
    returns how many were sent.

    `start()` returns when the first process answers, the others may still be starting, and
    the kernel hands each new connection to whichever process accepts first: a fixed number of
    requests can all reach one process. Bounded: fails if a process never answers."""
    deadline = time.monotonic() + 120
    sent = 0
    while time.monotonic() < deadline:
        for _ in range(10):  # a new connection each
            assert httpx.get(f"{server.url}/healthz").status_code == 200
        sent += 10
        counts = healthz_counts(folder)
        if sent >= at_least and len(counts) >= processes and min(counts.values()) >= 1:
            return sent
        time.sleep(0.2)
    raise AssertionError(f"not every API process answered: {healthz_counts(folder)}")


@pytest.mark.slow
class TestSeveralProcesses:
    def test_counts_are_summed_across_api_processes(
        self, database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        server = ServerProcess(database_url, "--workers", "2", KINSAVE_METRICS_TOKEN=TOKEN)
        server.env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)  # as `kinsave serve` would make
        server.start()
        try:
            sent = until_each_process_answered(server, tmp_path, processes=2, at_least=40)
            before = healthz_counts(tmp_path)
            text = httpx.get(f"{server.url}/metrics", headers=BEARER).text
            after = healthz_counts(tmp_path)
        finally:
            server.stop()
        assert len(before) == len(after) == 2  # one file per API process, each counted some
        assert min(before.values()) >= 1
        counted = value(text, "kinsave_http_requests_total", **HEALTHZ_OK)
        # Every process's count, summed (a late startup probe may land between the reads).
        assert sum(before.values()) <= counted <= sum(after.values())
        assert counted >= sent  # the startup probes too


class TestGateDecisions:
    def test_grab_daily_and_coupon_gates_are_counted(
        self, settings: Settings, session_factory: sessionmaker[Session], api: httpx.Client
    ) -> None:
        from tests.coupons.factories import create_template
        from tests.factories import login

        operator = shop_key(session_factory)
        rule = {"kind": "uniform", "min": 5, "max": 5}
        campaign = create_campaign(api, operator, daily_rule=rule)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 500)
        app = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
        with TestClient(app) as client:
            envelope = client.post(
                "/v1/envelopes", json={"total": 10, "shares": 1}, headers=grandma
            ).json()
            template = create_template(client, operator, stock=1)
            before = client.get("/metrics", headers=BEARER).text
            for name in ("m1", "m2", "m3"):
                shopper = login(client, name)
                client.post(f"/v1/envelopes/{envelope['id']}/grab", headers=shopper)
                client.post(f"/v1/daily/{campaign['id']}/claim", headers=grandma)
                body = {"template_id": template["id"]}
                client.post("/v1/coupons/claim", json=body, headers=shopper)
            text = client.get("/metrics", headers=BEARER).text

        def counted(gate: str, outcome: str) -> float:
            name = "kinsave_gate_decisions_total"
            labels = {"gate": gate, "outcome": outcome}
            return value(text, name, **labels) - value(before, name, **labels)

        assert counted("grab", "envelope_empty") == 2
        assert counted("daily", "already_claimed_today") == 2
        assert counted("coupon", "coupon_sold_out") == 2
        assert counted("grab", "missed") == 1 and counted("grab", "admitted") == 1
