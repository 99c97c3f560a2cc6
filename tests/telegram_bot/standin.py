"""A stand-in for the Bot API server (the real one cannot be reached from these machines).

It speaks the methods the bot uses at `/bot<token>/<method>`, records every call with its
parameters, and answers `{"ok": true, "result": ...}` in the shapes core.telegram.org/bots/api
documents: sendMessage and editMessageText return the Message; answerCallbackQuery,
answerInlineQuery and setWebhook return True; getMe the bot's User. Any other method is a 404,
as on Telegram's server.
"""

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Kin", "username": "KinsaveBot"}


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]


@dataclass
class BotApiStandIn:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    message_ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1000))

    def record(self, call: Call) -> Any:
        with self.lock:
            self.calls.append(call)
            return self._result(call)

    def _result(self, call: Call) -> Any:
        params = call.params
        if call.method in (
            "answerCallbackQuery",
            "answerInlineQuery",
            "setWebhook",
            "deleteWebhook",
        ):
            return True
        if call.method == "getMe":
            return BOT_USER
        if call.method == "sendMessage":
            return _message(next(self.message_ids), int(params["chat_id"]), params["text"])
        if call.method == "editMessageText":
            if params.get("inline_message_id"):
                return True
            return _message(int(params["message_id"]), int(params["chat_id"]), params["text"])
        return None

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int, timeout: float = 10) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.of(method)


def _message(message_id: int, chat_id: int, text: str) -> dict[str, Any]:
    chat_type = "private" if chat_id > 0 else "supergroup"
    return {
        "message_id": message_id,
        "from": BOT_USER,
        "chat": {"id": chat_id, "type": chat_type, "title": "Family"},
        "date": int(time.time()),
        "text": text,
    }


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        try:
            params[key] = json.loads(value) if value[:1] in "[{" else value
        except ValueError:
            params[key] = value
    return params


def serve(standin: BotApiStandIn) -> tuple[ThreadingHTTPServer, str]:
    """Start serving on a free port of 127.0.0.1; (server, base URL)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            _, bot, method = self.path.split("/", 2)
            length = int(self.headers.get("Content-Length") or 0)
            params = _params(self.headers.get("Content-Type", ""), self.rfile.read(length))
            result = standin.record(Call(bot.removeprefix("bot"), method, params))
            status = 200 if result is not None else 404
            answer = (
                {"ok": True, "result": result}
                if result is not None
                else {"ok": False, "error_code": 404, "description": "Not Found"}
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
