"""Updates as Telegram sends them (core.telegram.org/bots/api#update, #message,
#callbackquery): the JSON the webhook receives."""

import itertools
import time
from typing import Any

GROUP = {"id": -1001234567890, "type": "supergroup", "title": "Family"}
_update_ids = itertools.count(500_000_000)


def user(user_id: int, first_name: str, language_code: str = "zh-hans") -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def message_update(
    sender: dict[str, Any], text: str, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    chat = chat or {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": 42,
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
            "entities": entities,
        },
    }


def tap_update(tapper: dict[str, Any], message_id: int, callback_data: str) -> dict[str, Any]:
    update_id = next(_update_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": tapper,
            "message": {
                "message_id": message_id,
                "from": {"id": 7000000001, "is_bot": True, "first_name": "Kin"},
                "chat": GROUP,
                "date": int(time.time()),
                "text": "🧧",
            },
            "chat_instance": "-8080808080",
            "data": callback_data,
        },
    }


def inline_query_update(sender: dict[str, Any], query: str) -> dict[str, Any]:
    update_id = next(_update_ids)
    return {
        "update_id": update_id,
        "inline_query": {
            "id": f"iq{update_id}",
            "from": sender,
            "query": query,
            "offset": "",
            "chat_type": "sender",
        },
    }


def inline_tap_update(
    tapper: dict[str, Any], inline_message_id: str, callback_data: str
) -> dict[str, Any]:
    """A tap on the button of a message the bot's inline result put in a chat: no `message`,
    an `inline_message_id` instead."""
    update_id = next(_update_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": tapper,
            "inline_message_id": inline_message_id,
            "chat_instance": "-8080808081",
            "data": callback_data,
        },
    }
