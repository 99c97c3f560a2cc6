"""The deployment's bot as Telegram knows it: its username, asked once with getMe and remembered
per process, and from it the Mini App's link `https://t.me/<bot>/<app>` that Telegram shares
carry (`?startapp=<share code>`). Nobody types the link by hand: the username comes from the
token's own bot (or KINSAVE_TELEGRAM_BOT_USERNAME), the app's short name from
KINSAVE_TELEGRAM_APP_NAME (what BotFather's /newapp was given).
"""

import asyncio
import logging
import re

from telegram.error import TelegramError

from kinsave.config import Settings

log = logging.getLogger(__name__)
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_known: dict[str, str] = {}  # bot token -> the bot's username, as getMe answered


def bot_username(settings: Settings) -> str | None:
    """The bot's username: the setting when given, else what getMe answered, else None."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    return _known.get(settings.telegram_bot_token or "")


def mini_app_base(settings: Settings) -> str | None:
    """`https://t.me/<bot>/<app>`, or None while the bot's username is not known."""
    username = bot_username(settings)
    if not username or not _USERNAME.fullmatch(username):
        return None
    return f"https://t.me/{username}/{settings.telegram_app_name}"


async def learn_bot_username(settings: Settings) -> str | None:
    """Ask the Bot API who the bot is (getMe) unless already known; None if it cannot say now."""
    known = bot_username(settings)
    if known or not settings.telegram_bot_token:
        return known
    from kinsave.telegram.bot import make_bot  # bot.py builds on python-telegram-bot's Bot

    bot = make_bot(settings)
    try:
        me = await bot.get_me()
    except TelegramError as error:
        log.warning("telegram getMe failed: %s", error)
        return None
    finally:
        await bot.shutdown()
    if me.username:
        _known[settings.telegram_bot_token] = me.username
    return me.username


async def keep_asking(settings: Settings, *, first_wait: float = 5.0, longest: float = 600) -> None:
    """After startup: getMe until it answers, waiting twice as long after each failure."""
    wait = first_wait
    while await learn_bot_username(settings) is None and settings.telegram_bot_token:
        await asyncio.sleep(wait)
        wait = min(wait * 2, longest)


async def start_asking(settings: Settings, *, first_timeout: float = 3.0) -> "asyncio.Task[None]":
    """At startup: one getMe, waited for a few seconds at most (so the first shares already carry
    the t.me link), then the rest in the background. Cancel the task at shutdown."""
    if settings.telegram_bot_token and bot_username(settings) is None:
        try:
            await asyncio.wait_for(learn_bot_username(settings), first_timeout)
        except TimeoutError:
            log.warning("telegram getMe did not answer in %s s; asking again later", first_timeout)
    return asyncio.create_task(keep_asking(settings))
