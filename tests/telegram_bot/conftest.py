from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from kinsave.config import Settings
from tests.conftest import LiveServer
from tests.telegram_bot.standin import BotApiStandIn, serve

BOT_TOKEN = "7000000001:AAH-test-token-for-the-stand-in"
SECRET = "s3cr3t-Token_for-webhooks"


@pytest.fixture(scope="session")
def standin_server() -> Iterator[tuple[BotApiStandIn, str]]:
    standin = BotApiStandIn()
    server, url = serve(standin)
    yield standin, url
    server.shutdown()


@pytest.fixture
def bot_api(standin_server: tuple[BotApiStandIn, str]) -> BotApiStandIn:
    """The stand-in Bot API, its record of calls emptied for this test."""
    standin, _ = standin_server
    with standin.lock:
        standin.calls.clear()
    return standin


@pytest.fixture(scope="session")
def bot_settings(settings: Settings, standin_server: tuple[BotApiStandIn, str]) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_token": BOT_TOKEN,
            "telegram_webhook_secret": SECRET,
            "telegram_api_url": standin_server[1],
        }
    )


@pytest.fixture(scope="session")
def bot_server(bot_settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    server = LiveServer(bot_settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def kinsave(bot_server: LiveServer, session_factory: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bot_server.url, timeout=60) as client:
        yield client


def deliver(
    client: httpx.Client, update: dict[str, Any], secret: str | None = SECRET
) -> httpx.Response:
    """Telegram delivering one update to the webhook."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return client.post("/v1/telegram/webhook", json=update, headers=headers)
