"""Playwright driving Debian's Chromium (/usr/bin/chromium), headless, for the pages' journeys.

Outside CI a machine without Chromium skips these tests; with CI=true they fail instead, and
`make test` installs Chromium from Debian's packages first.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)

from tests.conftest import IN_CI, LiveServer
from tests.factories import shop_key

# The bot's server and its stand-in Bot API, for the Mini App inside Telegram.
from tests.telegram_bot.conftest import (  # noqa: F401
    bot_api,
    bot_server,
    bot_settings,
    kinsave,
    standin_server,
)

CHROMIUM = os.environ.get("KINSAVE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE = Path(__file__).parent / "assets" / "axe.min.js"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        message = f"Chromium not found at {CHROMIUM}"
        if IN_CI:
            pytest.fail(message + " (CI=true: `make test` installs it with apt-get)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Shots:
    """Numbered screenshots of one test in test-artifacts/<test name>/."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def take(self, page: Page, label: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


class Contexts:
    """Browser contexts for one test (one per person), each watching for page errors."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.opened: list[BrowserContext] = []
        self.problems: list[str] = []

    def phone(self, locale: str = "en-US") -> Page:
        return self._page(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
        )

    def desk(self, locale: str = "en-US") -> Page:
        return self._page(viewport={"width": 1280, "height": 900}, locale=locale)

    def _page(self, **options: Any) -> Page:
        context = self.browser.new_context(base_url=self.base_url, **options)
        self.opened.append(context)
        page = context.new_page()
        # A CSP violation or a script error is a bug even when the journey still passes.
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # Refusals from the API (409, 410, ...) are expected states, reported by _response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type not in ("document", "fetch"):
            self.problems.append(f"{response.status} for {response.url}")

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def people(browser: Browser, api: Any) -> Iterator[Contexts]:
    contexts = Contexts(browser, str(api.base_url).rstrip("/"))
    yield contexts
    contexts.close()
    assert not contexts.problems, contexts.problems


def sign_in(page: Page, user_id: str, name: str, next_path: str = "/app") -> None:
    page.goto(f"/app/login?next={next_path}")
    page.get_by_label(re.compile("Your id|账号")).fill(user_id)
    page.get_by_label(re.compile("Your name|昵称")).fill(name)
    page.get_by_role("button", name=re.compile("Sign in|登录")).click()
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def check_accessibility(page: Page) -> None:
    """axe-core against WCAG 2 A and AA: any violation (labels, names, contrast, ...) fails."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
    )
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert not violations, violations


def tab_to(page: Page, selector: str, limit: int = 30) -> None:
    """Reach an element with the Tab key alone, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the keyboard")


@pytest.fixture
def store_keys(session_factory: Any) -> dict[str, dict[str, str]]:
    """The demo shop's operator and store keys (headers)."""
    return {
        "operator": shop_key(session_factory, "Harvest Family Market"),
        "store": shop_key(session_factory, "Harvest Family Market", role="store"),
    }


@pytest.fixture
def demo_store(
    settings: Any, api: Any, store_keys: dict[str, dict[str, str]], tmp_path: Path
) -> Iterator[str]:
    """The demo store mounted on a second server (another origin), calling the test server's
    store API; its URL, e.g. http://127.0.0.1:PORT/store."""
    key = store_keys["store"]["Authorization"].removeprefix("Bearer ")
    enabled = settings.model_copy(
        update={
            "demo_store": True,
            "demo_store_key": key,
            "demo_store_api_url": str(api.base_url).rstrip("/"),
            "demo_store_orders_path": str(tmp_path / "store.db"),
        }
    )
    server = LiveServer(enabled)
    server.start()
    yield server.url + "/store"
    server.stop()
