"""A kinsave server configured for host logins, and a local fake of WeChat's code2session.

The session-wide `live_server` has no bot token or WeChat app; rather than change it for every
test, these tests get their own server built from the same settings plus the host settings.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from kinsave.config import Settings
from tests.conftest import LiveServer

TEST_BOT_TOKEN = "7000000001:AAtest-bot-token-for-kinsave-tests"
WECHAT_APPID = "wx_test_app"
WECHAT_SECRET = "wechat-app-secret"


class FakeCode2Session:
    """Answers like WeChat's jscode2session; the js_code picks the answer.

    "err<N>" -> {"errcode": N}; "slow" -> sleeps past the client's timeout; "garbage" -> not
    JSON; anything else -> a login with openid "o_<code>" and a session_key.
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.during_call: Callable[[], None] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                fake.calls.append(query)
                if fake.during_call is not None:
                    fake.during_call()
                status, body = fake.answer(query.get("js_code", ""))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sns/jscode2session"

    @staticmethod
    def answer(code: str) -> tuple[int, bytes]:
        if code.startswith("err"):
            errcode = int(code[3:])
            return 200, json.dumps({"errcode": errcode, "errmsg": "fake error"}).encode()
        if code == "slow":
            time.sleep(2.5)
        if code == "garbage":
            return 200, b"<html>not json</html>"
        login = {"openid": f"o_{code}", "session_key": f"SESSIONKEY-{code}", "unionid": f"u_{code}"}
        return 200, json.dumps(login).encode()


@pytest.fixture(scope="session")
def code2session() -> Iterator[FakeCode2Session]:
    fake = FakeCode2Session()
    fake.thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="session")
def host_server(
    settings: Settings, engine: Engine, code2session: FakeCode2Session
) -> Iterator[LiveServer]:
    host_settings = settings.model_copy(
        update={
            "telegram_bot_token": TEST_BOT_TOKEN,
            "wechat_code2session_url": code2session.url,
            "wechat_appid": WECHAT_APPID,
            "wechat_secret": WECHAT_SECRET,
            "wechat_timeout_seconds": 1.5,
        }
    )
    server = LiveServer(host_settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def host_api(
    host_server: LiveServer,
    session_factory: sessionmaker[Session],
    code2session: FakeCode2Session,
) -> Iterator[httpx.Client]:
    code2session.calls.clear()
    code2session.during_call = None
    with httpx.Client(base_url=host_server.url, timeout=30) as client:
        yield client
