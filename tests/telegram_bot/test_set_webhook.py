"""`kinsave telegram set-webhook --url` registers the webhook with the Bot API's setWebhook."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner, Result

from kinsave.cli import app
from kinsave.config import get_settings
from tests.telegram_bot.conftest import BOT_TOKEN, SECRET
from tests.telegram_bot.standin import BotApiStandIn


def test_set_webhook_registers_url_and_secret(
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    standin_server: tuple[BotApiStandIn, str],
    bot_api: BotApiStandIn,
) -> None:
    monkeypatch.setenv("KINSAVE_TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("KINSAVE_TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("KINSAVE_TELEGRAM_API_URL", standin_server[1])
    get_settings.cache_clear()
    url = "https://shop.example/v1/telegram/webhook"

    async def from_a_running_loop() -> Result:  # as under a test runner or a notebook
        return cli.invoke(app, ["telegram", "set-webhook", "--url", url])

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread: this one may run a loop already
        result = pool.submit(asyncio.run, from_a_running_loop()).result()
    assert result.exit_code == 0, result.output
    (call,) = bot_api.of("setWebhook")
    assert call.token == BOT_TOKEN
    assert call.params["url"] == url and call.params["secret_token"] == SECRET
    assert "callback_query" in call.params["allowed_updates"]
    assert "Mini App link: https://t.me/KinsaveBot/app" in result.output  # from getMe


def test_set_webhook_needs_the_secret(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, bot_api: BotApiStandIn
) -> None:
    monkeypatch.setenv("KINSAVE_TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.delenv("KINSAVE_TELEGRAM_WEBHOOK_SECRET", raising=False)
    get_settings.cache_clear()
    result = cli.invoke(app, ["telegram", "set-webhook", "--url", "https://shop.example/x"])
    assert result.exit_code == 1
    assert bot_api.of("setWebhook") == []
