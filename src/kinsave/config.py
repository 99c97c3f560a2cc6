"""One Settings object, read from KINSAVE_* environment variables once per process."""

import ipaddress
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
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
    # How many API processes serve this database: `kinsave serve --workers N` sets it for its
    # processes; set it yourself for several `kinsave serve` behind one balancer. More than one
    # without redis_url runs no storm gates (memory gates are exact for one process only).
    api_processes: int = 1
    dev_login: bool = False
    demo_store: bool = False
    # The demo store (examples/store) is a client of the store API over HTTP, with its own key.
    demo_store_api_url: str = "http://127.0.0.1:8000"
    demo_store_key: str | None = None
    # The store's own SQLite file for its orders and received webhooks (default: beside the
    # SQLite database, or ./kinsave-store.db), and the secret it checks webhook signatures with.
    demo_store_orders_path: str | None = None
    demo_store_webhook_secret: str | None = None
    # SQLite: FULL keeps commits durable across power loss, which is what money needs.
    sqlite_synchronous: str = "FULL"
    db_pool_size: int = 20
    # PostgreSQL: connections each API process opens at start, before it serves
    # (db.open_connections): the storm batchers' lanes (4 x grab_batch_lanes) and a few more.
    db_connections_at_start: int = 6

    currency: str = "CNY"
    envelope_max_total: int = 20000
    envelope_max_shares: int = 100
    envelope_ttl_seconds: int = 24 * 3600
    session_ttl_seconds: int = 30 * 24 * 3600
    checkout_hold_seconds: int = 15 * 60  # how long a checkout reservation holds coupons and credit
    # How long a store-link code (issued by the shopper for one shop) can be exchanged, once.
    store_link_code_ttl_seconds: int = 5 * 60
    sweeper_interval_seconds: float = 30.0
    sweeper_enabled: bool = True
    # A job that keeps failing waits twice as long each time, up to this (jobs.JobBackoff).
    sweeper_max_backoff_seconds: float = 300.0

    # Shopper login from the hosts. Telegram: the bot token checks initData's `hash`; the bot id
    # (defaults to the token's prefix) checks the Ed25519 `signature` without the token.
    telegram_bot_token: str | None = None
    telegram_bot_id: int | None = None
    telegram_test_environment: bool = False
    telegram_init_data_max_age_seconds: int = 24 * 3600
    # The bot (docs/telegram.md): webhook updates must carry this secret token; Bot API calls go to
    # this server (Telegram's, a self-hosted Bot API server, or the tests' stand-in). A bot serves
    # one shop: this one, or the deployment's only shop when unset.
    telegram_webhook_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_shop: str | None = None
    # The Mini App's short name (BotFather /newapp) in https://t.me/<bot>/<app>; the bot's username
    # comes from getMe, or from this setting where the Bot API cannot be asked at startup.
    telegram_app_name: str = Field(default="app", pattern=r"^[A-Za-z0-9_]{3,30}$")
    telegram_bot_username: str | None = None
    wechat_code2session_url: str = "https://api.weixin.qq.com/sns/jscode2session"
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_timeout_seconds: float = 3.0

    # Webhooks to the store: per-attempt timeout, retry schedule (base * 2^attempt), give-up point.
    webhook_timeout_seconds: float = 5.0
    webhook_retry_base_seconds: float = 30.0
    webhook_max_attempts: int = 8
    # Webhook URLs must reach public addresses (no SSRF into our network); the demo and the tests
    # send to receivers on this machine and turn this on.
    webhook_allow_private_urls: bool = False

    # FastAPI's native OpenTelemetry (spans, metrics, logs to the providers the environment sets
    # up, e.g. FASTAPI_OTEL_AUTO_CONFIGURE=true with OTEL_EXPORTER_OTLP_ENDPOINT). Off by default.
    telemetry: bool = False
    grab_batch_max: int = 64  # the most grabs (or claims) one batch transaction commits together
    # Batcher threads (connections) per batcher per process; an envelope or campaign keeps one.
    # 1 measured best on 2 cores (docs/decisions.md 19): bigger batches, fewer commits, less GIL
    # contention. More lanes overlap database waits on a machine where the database has its own.
    grab_batch_lanes: int = 1
    # The group-join batcher's lanes on PostgreSQL (a group keeps one). A join's statements
    # wait on round trips more than on anything else, and the groups of a deal are many rows,
    # so lanes overlap those waits (bench group-rush; docs/decisions.md, group joins).
    group_join_batch_lanes: int = 4
    # The checkout batcher's lanes on PostgreSQL (a shop keeps one, and shops take turns): a
    # write is ten round trips, so a second shop's lane overlaps their waits (decision 44).
    checkout_batch_lanes: int = 2
    db_pre_ping: bool = True  # ping each pooled connection before use (a round trip per request)
    session_cache_seconds: float = 0.0  # >0: remember token -> shopper this long (revocation lag)
    bench_endpoints: bool = (
        False  # /v1/bench/* (do-nothing, straightforward design) for kinsave bench
    )
    # Hostile input: bodies over this are refused (413) before parsing; JSON nested deeper (422).
    max_body_bytes: int = 64 * 1024
    max_json_depth: int = 32
    # Rate limits, "<count>/<seconds>" per shopper, device and IP (see security/ratelimit.py).
    # Redis counts when redis_url is set, the database otherwise. 0 count disables a limit.
    rate_limits_enabled: bool = True
    rate_limit_login: str = "30/60"
    rate_limit_claim: str = "20/60"
    rate_limit_coupon_claim: str = "30/60"  # was only the built-in default, not settable
    rate_limit_grab: str = "60/60"
    rate_limit_help: str = "30/60"
    rate_limit_resolve: str = "600/60"
    rate_limit_link_exchange: str = "60/60"  # store-link code exchanges per IP and device
    # Unknown share tokens per IP / store key before resolving is refused (code guessing).
    rate_limit_token_unknown: str = "20/600"

    # Logs (ops/log_config.py): "text" or "json" (one JSON object per line); one access line per
    # request (request id, route template, status, latency, shop) unless access_log is off.
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: IPs and CIDRs, comma
    # separated, or "*" (anyone: only when nothing but the proxy can reach the port). None by
    # default: the peer address is the client, for the per-IP rate limits too.
    trusted_proxies: str = ""
    # /metrics (Prometheus text format) answers only `Authorization: Bearer <this token>`; unset,
    # it is a 404. Keep it out of reach of the public too (docs/observability.md).
    metrics_token: str | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: str = "info"
    access_log: bool = True

    @field_validator("database_url")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if entries == ["*"]:
            return "*"
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as error:
                raise ValueError(f"not an IP address or CIDR: {entry!r}") from error
        return ",".join(entries)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def batch_lanes(self) -> int:
        # SQLite has one writer at a time: a second lane would only queue on its lock.
        return 1 if self.is_sqlite else self.grab_batch_lanes

    @property
    def checkout_lanes(self) -> int:
        return 1 if self.is_sqlite else self.checkout_batch_lanes

    @property
    def group_join_lanes(self) -> int:
        return 1 if self.is_sqlite else self.group_join_batch_lanes


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
