"""Bot API calls through python-telegram-bot, against KINSAVE_TELEGRAM_API_URL (Telegram's by
default; a self-hosted Bot API server or the tests' stand-in otherwise). Called only after the
update's transaction committed; a failed call is logged, never undoes what was committed."""

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.error import TelegramError

from kinsave.config import Settings
from kinsave.telegram.actions import (
    Action,
    AnswerCallback,
    AnswerInline,
    Button,
    EditMessage,
    SendMessage,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run Bot API calls from synchronous code (the CLI) on a loop of their own, in a thread:
    safe even when the calling thread already runs an event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def make_bot(settings: Settings) -> Bot:
    if not settings.telegram_bot_token:
        raise RuntimeError("KINSAVE_TELEGRAM_BOT_TOKEN is not set")
    base = settings.telegram_api_url.rstrip("/")
    return Bot(settings.telegram_bot_token, base_url=f"{base}/bot")


def _keyboard(button: Button | None) -> InlineKeyboardMarkup | None:
    if button is None:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.callback_data)]]
    )


async def perform(bot: Bot, actions: Sequence[Action]) -> None:
    for action in actions:
        try:
            await _perform_one(bot, action)
        except TelegramError as error:  # e.g. "message is not modified", a chat that left
            log.warning("telegram %s failed: %s", type(action).__name__, error)


async def _perform_one(bot: Bot, action: Action) -> None:
    if isinstance(action, SendMessage):
        await bot.send_message(
            action.chat_id,
            action.text,
            reply_markup=_keyboard(action.button),
            reply_to_message_id=action.reply_to_message_id,
        )
    elif isinstance(action, EditMessage):
        await bot.edit_message_text(
            action.text,
            chat_id=action.chat_id,
            message_id=action.message_id,
            inline_message_id=action.inline_message_id,
            reply_markup=_keyboard(action.button),
        )
    elif isinstance(action, AnswerCallback):
        await bot.answer_callback_query(
            action.callback_query_id, text=action.text, show_alert=action.show_alert
        )
    elif isinstance(action, AnswerInline):
        results = [
            InlineQueryResultArticle(
                result.result_id,
                result.title,
                InputTextMessageContent(result.text),
                reply_markup=_keyboard(result.button),
            )
            for result in action.results
        ]
        # Personal and uncached: an envelope is offered to its sender only.
        await bot.answer_inline_query(
            action.inline_query_id, results, cache_time=0, is_personal=True
        )


async def set_webhook(settings: Settings, url: str) -> bool:
    """Register `url` as the bot's webhook, with the secret token Telegram will send back."""
    bot = make_bot(settings)
    try:
        return await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=["message", "callback_query", "inline_query", "chosen_inline_result"],
        )
    finally:
        await bot.shutdown()
