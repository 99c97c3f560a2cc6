"""Is this process ready for traffic? The database answers, its schema is at the migrations' head,
and Redis answers when one is configured. (`/healthz` only says the process is alive.)"""

from functools import cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from kinsave.migrate import alembic_config
from kinsave.redis_client import REDIS_ERRORS, redis_client

REDIS_TIMEOUT_SECONDS = 0.5
OK = "ok"


@cache
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations this package ships (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _redis_client(url: str) -> Any:
    """A client for KINSAVE_REDIS_URL (a Redis Cluster's too: its ping asks the node it reaches)."""
    return redis_client(url, timeout=REDIS_TIMEOUT_SECONDS, connect_timeout=REDIS_TIMEOUT_SECONDS)


class Readiness:
    """The checks behind /readyz; each answers "ok" or a short reason (no addresses, no
    credentials: the body is for an orchestrator and may be seen by anyone who can reach it)."""

    def __init__(self, engine: Engine, redis_url: str | None) -> None:
        self._engine = engine
        self._heads = migration_heads()
        self._redis = _redis_client(redis_url) if redis_url else None

    def check(self) -> dict[str, str]:
        checks = self._check_database()
        if self._redis is not None:
            checks["redis"] = self._check_redis()
        return checks

    def _check_database(self) -> dict[str, str]:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                current = set(MigrationContext.configure(connection).get_current_heads())
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            reason = f"unreachable ({type(error).__name__})"
            return {"database": reason, "migrations": "unknown (database unreachable)"}
        if current == self._heads:
            return {"database": OK, "migrations": OK}
        found = ", ".join(sorted(current)) or "none"
        wanted = ", ".join(sorted(self._heads))
        return {"database": OK, "migrations": f"behind: at {found}, head is {wanted}"}

    def _check_redis(self) -> str:
        assert self._redis is not None
        try:
            self._redis.ping()
        except REDIS_ERRORS as error:
            return f"unreachable ({type(error).__name__})"
        return OK
