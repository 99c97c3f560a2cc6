"""The start-up's own requests (ops/warm_up.py): a fresh process does its first-request work
before it serves, and that work is no client's: not logged, not counted, nothing read or written
of anyone's, the first real quote answered as every later one."""

import logging

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine, func, select

from kinsave.app import create_app
from kinsave.auth.models import ApiKey
from kinsave.config import Settings
from kinsave.ops.warm_up import NO_ROUTE, NO_SUCH_STORE_KEY, QUOTE, QUOTE_BODY
from tests.ops.test_request_log import ACCESS


def answered(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("kinsave_http_requests_total", labels) or 0.0


class TestWarmUp:
    def test_start_up_requests_are_neither_logged_nor_counted(
        self, settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger=ACCESS)
        before = answered("POST", QUOTE, 401), answered("GET", "<unmatched>", 404)
        with TestClient(create_app(settings)):
            assert [r for r in caplog.records if r.name == ACCESS] == []
            after = answered("POST", QUOTE, 401), answered("GET", "<unmatched>", 404)
        assert after == before

    def test_start_up_writes_nothing(self, settings: Settings, engine: Engine) -> None:
        with engine.connect() as connection:
            keys = connection.scalar(select(func.count()).select_from(ApiKey))
        with TestClient(create_app(settings)) as client:
            assert client.get(NO_ROUTE).status_code == 404
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(ApiKey)) == keys

    def test_a_refused_start_up_quote_is_still_refused_later(
        self, settings: Settings, engine: Engine
    ) -> None:
        """The key the start-up tried is not remembered: a client sending it is refused too."""
        with TestClient(create_app(settings)) as client:
            response = client.post(
                QUOTE,
                content=QUOTE_BODY,
                headers={
                    "authorization": f"Bearer {NO_SUCH_STORE_KEY}",
                    "content-type": "application/json",
                },
            )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
