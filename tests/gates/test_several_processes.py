"""Several API processes without Redis run no gates: memory gates would each count a part of
the taps (two processes could both answer "ok" to the last share's two grabbers and leave the
database to refuse one, or worse, refuse what the other process's grants freed). `kinsave serve
--workers 2` tells its processes how many they are (KINSAVE_API_PROCESSES) and says so once."""

import os
from pathlib import Path

import httpx
import pytest

from kinsave.app import create_app
from kinsave.config import Settings
from kinsave.gates.store import MemoryStore, RedisStore
from tests.factories import create_campaign, error_code, funded_shopper, login, shop_key
from tests.ops.test_metrics import BEARER, TOKEN, samples
from tests.reliability.processes import ServerProcess

GATES_OFF = "no storm gates"


class TestWhoRunsGates:
    def test_one_process_without_redis_gates_in_memory(self, settings: Settings) -> None:
        app = create_app(settings.model_copy(update={"redis_url": None, "api_processes": 1}))
        assert app.state.gates is not None and isinstance(app.state.gates.grab.store, MemoryStore)

    def test_several_processes_without_redis_run_no_gates(self, settings: Settings) -> None:
        app = create_app(settings.model_copy(update={"redis_url": None, "api_processes": 2}))
        assert app.state.gates is None and app.state.grab_batcher.gate is None

    def test_several_processes_with_redis_share_its_gates(self, settings: Settings, redis_url):
        app = create_app(settings.model_copy(update={"redis_url": redis_url, "api_processes": 2}))
        assert app.state.gates is not None and isinstance(app.state.gates.grab.store, RedisStore)

    def test_a_metrics_directory_alone_does_not_turn_them_off(
        self, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # An operator's PROMETHEUS_MULTIPROC_DIR said "several processes" before; it no longer does.
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        app = create_app(settings.model_copy(update={"redis_url": None, "api_processes": 1}))
        assert app.state.gates is not None


@pytest.mark.slow
def test_serve_with_two_workers_and_no_redis(database_url, session_factory, tmp_path) -> None:
    server = ServerProcess(database_url, "--workers", "2", KINSAVE_METRICS_TOKEN=TOKEN)
    for name in ("KINSAVE_REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "KINSAVE_API_PROCESSES"):
        server.env.pop(name, None)
    server.log = tmp_path / "serve.log"
    server.start_seconds = 120  # two processes starting on a busy 2-core machine
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            operator = shop_key(session_factory)
            campaign = create_campaign(api, operator)
            grandma = funded_shopper(api, operator, campaign["id"], "grandma", 500)
            envelope = api.post("/v1/envelopes", json={"total": 10, "shares": 1}, headers=grandma)
            grabbers = [login(api, f"g{i}") for i in range(6)]
        answers = []
        for headers in grabbers:  # a new connection each: both processes answer some
            path = f"{server.url}/v1/envelopes/{envelope.json()['id']}/grab"
            answers.append(httpx.post(path, headers=headers, timeout=30))
        metrics = httpx.get(f"{server.url}/metrics", headers=BEARER, timeout=30).text
    finally:
        server.stop()
    codes = sorted("ok" if r.status_code == 200 else error_code(r) for r in answers)
    assert codes == ["envelope_empty"] * 5 + ["ok"]  # the database decided every one
    decided = [
        v for (name, _), v in samples(metrics).items() if name == "kinsave_gate_decisions_total"
    ]
    assert sum(decided) == 0  # no gate in either process saw a tap
    log = server.log.read_text()
    assert log.count(GATES_OFF) == 1, log  # said once, by the server, not once per process
    assert "KINSAVE_API_PROCESSES" not in os.environ  # the test's own environment untouched
