"""/readyz: ready only when the database answers at the migrations' head and Redis (when
configured) answers; /healthz stays a liveness check that touches neither."""

from typing import Any

import httpx
from alembic import command
from fastapi.testclient import TestClient

from kinsave.app import create_app
from kinsave.config import Settings
from kinsave.migrate import alembic_config, upgrade_to_head
from tests.ops.conftest import ScratchDatabase

FIRST_REVISION = "aec9cb08fff3"


class TestReadiness:
    def test_ready_at_head(self, api: httpx.Client) -> None:
        response = api.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok"},
        }

    def test_not_ready_when_the_schema_is_behind(
        self, settings: Settings, scratch_database: ScratchDatabase
    ) -> None:
        command.upgrade(alembic_config(scratch_database.url), FIRST_REVISION)
        behind = settings.model_copy(update={"database_url": scratch_database.url})
        with TestClient(create_app(behind)) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "not_ready"
            assert body["checks"]["database"] == "ok"
            assert body["checks"]["migrations"].startswith(f"behind: at {FIRST_REVISION}")
            assert client.get("/healthz").status_code == 200
            upgrade_to_head(behind)
            assert client.get("/readyz").status_code == 200

    def test_not_ready_when_the_database_is_gone(
        self, settings: Settings, scratch_database: ScratchDatabase
    ) -> None:
        upgrade_to_head(settings.model_copy(update={"database_url": scratch_database.url}))
        app = create_app(settings.model_copy(update={"database_url": scratch_database.url}))
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            app.state.engine.dispose()  # no pooled connection outlives the database
            scratch_database.drop()
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["database"].startswith("unreachable")
            assert client.get("/healthz").status_code == 200

    def test_not_ready_when_redis_is_down(
        self, settings: Settings, engine: Any, private_redis: Any
    ) -> None:
        with_redis = settings.model_copy(update={"redis_url": private_redis.url})
        with TestClient(create_app(with_redis)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
            private_redis.kill()
            response = client.get("/readyz")
            assert response.status_code == 503
            checks = response.json()["checks"]
            assert checks["redis"].startswith("unreachable") and checks["database"] == "ok"
            assert client.get("/healthz").status_code == 200
