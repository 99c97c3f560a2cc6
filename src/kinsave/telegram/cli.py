"""`kinsave telegram ...`: the shop's bot's commands (docs/telegram.md)."""

from typing import Annotated

import typer
from rich.console import Console

from kinsave.config import get_settings
from kinsave.db import make_engine, make_session_factory, unit_of_work

telegram_app = typer.Typer(help="The shop's Telegram bot (docs/telegram.md).")
console = Console()


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[str, typer.Option(help="Public HTTPS URL of /v1/telegram/webhook")],
) -> None:
    """Register the bot's webhook with the Bot API, with KINSAVE_TELEGRAM_WEBHOOK_SECRET."""
    from kinsave.telegram import identity
    from kinsave.telegram.bot import run_sync, set_webhook

    settings = get_settings()
    if not settings.telegram_bot_token or not settings.telegram_webhook_secret:
        console.print("[red]set KINSAVE_TELEGRAM_BOT_TOKEN and _WEBHOOK_SECRET[/red]")
        raise typer.Exit(code=1)
    if not run_sync(set_webhook(settings, url)):
        console.print("[red]the Bot API refused the webhook[/red]")
        raise typer.Exit(code=1)
    console.print(f"[green]webhook set: {url}[/green]")
    # The link shares carry, as kinsave will derive it (getMe): what BotFather's /newapp needs.
    run_sync(identity.learn_bot_username(settings))
    base = identity.mini_app_base(settings)
    console.print(f"Mini App link: {base}" if base else "[yellow]getMe did not answer[/yellow]")


@telegram_app.command("send-reminders")
def telegram_send_reminders() -> None:
    """Send the daily reminders due now (run every minute, e.g. from cron); each goes out once
    per local day even when two runs overlap."""
    from kinsave.telegram import reminders
    from kinsave.telegram.bot import make_bot, perform, run_sync

    if not get_settings().telegram_bot_token:  # before claiming: a claimed reminder is spent
        console.print("[red]set KINSAVE_TELEGRAM_BOT_TOKEN[/red]")
        raise typer.Exit(code=1)
    with unit_of_work(make_session_factory(make_engine(get_settings()))) as session:
        due = reminders.due_reminders(session)

    async def send() -> None:
        bot = make_bot(get_settings())
        try:
            await perform(bot, due)
        finally:
            await bot.shutdown()

    if due:
        run_sync(send())
    console.print(f"{len(due)} reminders sent")
