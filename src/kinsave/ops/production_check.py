"""What in the settings is unsafe for production, and why. Pure: reads Settings, does no I/O.

`kinsave check` lists these and exits 1 when there are any; `kinsave serve` warns about them at
start-up. `kinsave demo` turns several on on purpose.
"""

from dataclasses import dataclass

from kinsave.config import Settings


@dataclass(frozen=True)
class Finding:
    setting: str
    why: str


def unsafe_settings(settings: Settings, workers: int = 1) -> list[Finding]:
    """Every unsafe setting for a server of `workers` API processes (or the setting's
    api_processes, when more serve the database), most serious first."""
    workers = max(workers, settings.api_processes)
    return _exposures(settings) + _durability(settings, workers) + _missing_secrets(settings)


def _exposures(settings: Settings) -> list[Finding]:
    found = []
    if settings.dev_login:
        found.append(
            Finding("KINSAVE_DEV_LOGIN", "anyone can sign in as any shopper and spend their wallet")
        )
    if settings.bench_endpoints:
        found.append(
            Finding(
                "KINSAVE_BENCH_ENDPOINTS",
                "/v1/bench/* grabs and claims bypass the documented checks",
            )
        )
    if settings.demo_store:
        found.append(Finding("KINSAVE_DEMO_STORE", "serves the demo store at /store"))
    if settings.webhook_allow_private_urls:
        found.append(
            Finding(
                "KINSAVE_WEBHOOK_ALLOW_PRIVATE_URLS",
                "an operator key can make kinsave send requests into your private network",
            )
        )
    if settings.trusted_proxies == "*":
        found.append(
            Finding(
                "KINSAVE_TRUSTED_PROXIES",
                "forwarded headers are believed from anywhere: any client can pick its IP "
                "and escape the per-IP rate limits; name your proxies' addresses",
            )
        )
    if not settings.rate_limits_enabled:
        found.append(
            Finding("KINSAVE_RATE_LIMITS_ENABLED", "no rate limits: sign-ins and claims unbounded")
        )
    return found


def _durability(settings: Settings, workers: int) -> list[Finding]:
    found = []
    if settings.is_sqlite and workers > 1:
        found.append(
            Finding(
                "KINSAVE_DATABASE_URL",
                f"SQLite with {workers} API processes: one writer at a time, they queue on its "
                "lock; use PostgreSQL",
            )
        )
    if settings.is_sqlite and settings.sqlite_synchronous.upper() != "FULL":
        found.append(
            Finding(
                "KINSAVE_SQLITE_SYNCHRONOUS",
                f"{settings.sqlite_synchronous}: a committed payment can be lost on power loss",
            )
        )
    if workers > 1 and not settings.redis_url:
        found.append(
            Finding(
                "KINSAVE_REDIS_URL",
                f"no Redis with {workers} API processes: no storm gates (every refusal is a "
                "database statement), and every rate limit hit is a database write",
            )
        )
    return found


def _missing_secrets(settings: Settings) -> list[Finding]:
    found = []
    if bool(settings.wechat_appid) != bool(settings.wechat_secret):
        found.append(
            Finding(
                "KINSAVE_WECHAT_SECRET" if settings.wechat_appid else "KINSAVE_WECHAT_APPID",
                "WeChat sign-in needs both the app id and its secret",
            )
        )
    if settings.demo_store and not settings.demo_store_webhook_secret:
        found.append(
            Finding(
                "KINSAVE_DEMO_STORE_WEBHOOK_SECRET",
                "the demo store cannot check kinsave's webhook signatures",
            )
        )
    if not (settings.dev_login or settings.telegram_bot_token or settings.telegram_bot_id) and not (
        settings.wechat_appid and settings.wechat_secret
    ):
        found.append(
            Finding(
                "KINSAVE_TELEGRAM_BOT_TOKEN",
                "no shopper sign-in is configured (Telegram or WeChat): shoppers cannot sign in",
            )
        )
    return found
