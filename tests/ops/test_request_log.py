"""Request ids and the access log: one line per request, the route's template and never a
token; an unexpected error logs its trace with the id and answers only the id."""

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kinsave.app import create_app
from kinsave.config import Settings
from tests.conftest import _free_port
from tests.factories import shop_key

ACCESS = "kinsave.access"


def wait_for(
    caplog: pytest.LogCaptureFixture, matches: Callable[[logging.LogRecord], bool]
) -> logging.LogRecord:
    """The server logs a request just after answering it: wait for that line."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [r for r in caplog.records if r.name == ACCESS and matches(r)]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError("no access log line for the request")


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The captured log, with the access lines in it."""
    caplog.set_level(logging.INFO, logger=ACCESS)
    return caplog


class TestRequestId:
    def test_a_sane_id_is_kept_and_echoed(
        self, api: httpx.Client, access_log: pytest.LogCaptureFixture
    ) -> None:
        response = api.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42:9"})
        assert response.headers["x-request-id"] == "lb-7f3a.42:9"
        line = wait_for(access_log, lambda r: r.request_id == "lb-7f3a.42:9")
        assert (line.method, line.route, line.status) == ("GET", "/healthz", 200)
        assert line.latency_ms >= 0

    @pytest.mark.parametrize("supplied", ["two words", "x" * 129, 'quote"d', "é"])
    def test_an_odd_id_is_replaced(self, api: httpx.Client, supplied: str) -> None:
        response = api.get("/healthz", headers={"X-Request-Id": supplied.encode()})
        echoed = response.headers["x-request-id"]
        assert echoed != supplied and len(echoed) == 32 and echoed.isalnum()

    def test_every_request_gets_one(self, api: httpx.Client) -> None:
        first = api.get("/healthz").headers["x-request-id"]
        second = api.get("/v1/no-such-thing").headers["x-request-id"]
        assert first != second


class TestAccessLine:
    def test_route_template_and_shop_never_the_key_or_path(
        self,
        api: httpx.Client,
        session_factory: sessionmaker[Session],
        access_log: pytest.LogCaptureFixture,
    ) -> None:
        operator = shop_key(session_factory)
        key = operator["Authorization"].removeprefix("Bearer ")
        listed = api.get("/v1/admin/campaigns", headers=operator)
        line = wait_for(access_log, lambda r: r.request_id == listed.headers["x-request-id"])
        assert line.route == "/v1/admin/campaigns" and line.status == 200
        assert line.shop_id
        landing = api.get("/app/s/SECRETCODE42?t=token-in-query")
        line = wait_for(access_log, lambda r: r.request_id == landing.headers["x-request-id"])
        assert line.route == "/app/s/{code}"
        logged = access_log.text + " ".join(str(r.__dict__) for r in access_log.records)
        assert key not in logged and "SECRETCODE42" not in logged and "token-in-query" not in logged

    def test_a_remembered_store_key_names_its_shop_too(
        self,
        api: httpx.Client,
        session_factory: sessionmaker[Session],
        access_log: pytest.LogCaptureFixture,
    ) -> None:
        store = shop_key(session_factory, role="store")
        read = api.get("/v1/store/products", headers=store)
        remembered = api.get("/v1/store/products", headers=store)  # the key's row is not read
        assert read.status_code == remembered.status_code == 200
        first = wait_for(access_log, lambda r: r.request_id == read.headers["x-request-id"])
        second = wait_for(access_log, lambda r: r.request_id == remembered.headers["x-request-id"])
        assert first.shop_id and second.shop_id == first.shop_id

    def test_unmatched_paths_static_files_and_the_batched_grab_route(
        self, api: httpx.Client, access_log: pytest.LogCaptureFixture
    ) -> None:
        missing = api.get("/v1/share/abcdefsecret/nothing")
        line = wait_for(access_log, lambda r: r.request_id == missing.headers["x-request-id"])
        assert line.route == "<unmatched>" and line.status == 404
        static = api.get("/static/app.css")
        line = wait_for(access_log, lambda r: r.request_id == static.headers["x-request-id"])
        assert line.route == "/static/{path}" and line.status == 200
        grab = api.post("/v1/envelopes/secret-envelope/grab")  # batched behind its route
        line = wait_for(access_log, lambda r: r.request_id == grab.headers["x-request-id"])
        assert line.route == "/v1/envelopes/{envelope_id}/grab" and line.status == 401


class TestUnexpectedError:
    def test_trace_in_the_log_only_the_id_in_the_answer(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        app = create_app(settings)

        @app.get("/v1/test-only/boom")
        def boom() -> None:
            raise RuntimeError("the secret detail")

        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/v1/test-only/boom", headers={"X-Request-Id": "req-500"})
        assert response.status_code == 500
        assert response.headers["x-request-id"] == "req-500"
        assert response.json() == {
            "error": {
                "code": "internal_error",
                "message": "something went wrong on our side",
                "request_id": "req-500",
            }
        }
        line = wait_for(caplog, lambda r: r.request_id == "req-500")
        assert line.levelno == logging.ERROR and line.status == 500
        assert line.exc_info is not None and "the secret detail" in caplog.text
        assert response.headers["x-content-type-options"] == "nosniff"


class TestJsonLogs:
    @pytest.mark.parametrize("server", ["uvicorn", "granian"])
    def test_kinsave_serve_writes_one_json_line_per_request(
        self,
        server: str,
        database_url: str,
        engine: object,
        session_factory: sessionmaker[Session],
        tmp_path: Path,
    ) -> None:
        operator = shop_key(session_factory)
        port = _free_port()
        env = {
            **os.environ,
            "KINSAVE_DATABASE_URL": database_url,
            "KINSAVE_SWEEPER_ENABLED": "0",
            "KINSAVE_LOG_FORMAT": "json",
        }
        log_file = tmp_path / "server.log"
        with log_file.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "kinsave.cli", "serve", "--no-migrate", "--port", str(port)]
                + ["--server", server],
                env=env,
                stdout=log,
                stderr=log,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 30
                while True:
                    try:
                        httpx.get(f"{url}/healthz", headers={"X-Request-Id": "probe"})
                        break
                    except httpx.HTTPError:
                        assert time.monotonic() < deadline, "kinsave serve did not start"
                        time.sleep(0.1)
                httpx.get(f"{url}/v1/admin/campaigns", headers={**operator, "X-Request-Id": "op-1"})
                httpx.get(f"{url}/app/s/SECRETCODE42?t=tok", headers={"X-Request-Id": "share-1"})
            finally:
                server.terminate()
                server.wait(timeout=60)  # a loaded machine stops a server slowly
        lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
        access = {line["request_id"]: line for line in lines if line.get("logger") == ACCESS}
        assert set(access) == {"probe", "op-1", "share-1"}
        op = access["op-1"]
        assert (op["method"], op["route"], op["status"], op["level"]) == (
            "GET",
            "/v1/admin/campaigns",
            200,
            "INFO",
        )
        assert op["shop_id"] and isinstance(op["latency_ms"], float)
        assert access["share-1"]["route"] == "/app/s/{code}"
        text = log_file.read_text()
        key = operator["Authorization"].removeprefix("Bearer ")
        assert key not in text and "SECRETCODE42" not in text and 'tok"' not in text
