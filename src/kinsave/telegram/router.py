from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import Update

from kinsave.errors import KinsaveError, openapi_errors
from kinsave.telegram import handlers
from kinsave.telegram.bot import make_bot
from kinsave.telegram.security import secret_token_matches

router = APIRouter(prefix="/v1/telegram", tags=["telegram"])


@router.post("/webhook", responses=openapi_errors("not_found", "unauthorized", "invalid_request"))
async def receive_telegram_update(request: Request) -> JSONResponse:
    """Telegram's webhook (Bot API `setWebhook`): one update per call, accepted only with the
    `X-Telegram-Bot-Api-Secret-Token` set at registration; a replayed update_id changes nothing.
    Answers 200 once the update's work is committed and its replies are sent."""
    settings = request.app.state.settings
    if not settings.telegram_bot_token or not settings.telegram_webhook_secret:
        raise KinsaveError("not_found", "the Telegram bot is not configured")
    received = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not secret_token_matches(received, settings.telegram_webhook_secret):
        raise KinsaveError("unauthorized", "the secret token is missing or wrong")
    try:
        payload: Any = await request.json()
        update = Update.de_json(payload, None) if isinstance(payload, dict) else None
    except (ValueError, TypeError, KeyError, AttributeError):
        update = None
    if update is None or not isinstance(payload.get("update_id"), int):
        raise KinsaveError("invalid_request", "not a Telegram update")
    bot = make_bot(settings)
    try:
        await handlers.handle_update(request.app.state, update, bot)
    finally:
        await bot.shutdown()
    return JSONResponse({"ok": True})
