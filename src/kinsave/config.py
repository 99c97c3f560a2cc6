"""One Settings object, read from KINSAVE_* environment variables once per process."""

from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def normalize_database_url(url: str) -> str:
    """Let a plain `postgresql://user@host:port/db` URL work as written (we ship psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINSAVE_", extra="ignore")

    database_url: str = "sqlite:///./kinsave.db"
    redis_url: str | None = None
    dev_login: bool = False
    demo_store: bool = False
    # SQLite: FULL keeps commits durable across power loss, which is what money needs.
    sqlite_synchronous: str = "FULL"
    db_pool_size: int = 20

    currency: str = "CNY"
    envelope_max_total: int = 20000
    envelope_max_shares: int = 100
    envelope_ttl_seconds: int = 24 * 3600
    session_ttl_seconds: int = 30 * 24 * 3600
    sweeper_interval_seconds: float = 30.0
    sweeper_enabled: bool = True

    # Speed switches (issue 6, docs/benchmarks.md). Off by default: the plain paths stay the
    # reference behaviour; each switch keeps the same answers and the same ledger invariants.
    fast_grab: bool = False  # one-statement grab, committed by the grab batcher
    grab_batch_max: int = 64  # the most grabs one batcher transaction commits together
    grab_batch_lanes: int = 4  # batcher threads (connections) per process; an envelope keeps one
    db_pre_ping: bool = True  # ping each pooled connection before use (a round trip per request)
    session_cache_seconds: float = 0.0  # >0: remember token -> shopper this long (revocation lag)
    budget_shards: int = 0  # >0: daily claims draw from this many sub-accounts of the budget
    bench_endpoints: bool = (
        False  # /v1/bench/* (do-nothing, straightforward design) for kinsave bench
    )

    @field_validator("database_url")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
