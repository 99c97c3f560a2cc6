"""/docs and /redoc render the API with no internet: every script and style comes from kinsave."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser
# ReDoc's "by Redocly" credit is an <img> of this address, hidden when it fails to load: the
# page's policy refuses it (nothing leaves the machine) and the reference renders without it.
REDOC_CREDIT_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def offline_page(browser: Browser, base_url: str, blocked: list[str], problems: list[str]) -> Page:
    """A page whose every request off this machine is aborted (and recorded)."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    return page


class TestApiDocsOffline:
    def test_swagger_ui_renders_the_operations(self, browser: Browser, api: Any) -> None:
        blocked: list[str] = []
        problems: list[str] = []
        page = offline_page(browser, str(api.base_url).rstrip("/"), blocked, problems)
        page.goto("/docs")
        page.locator(".opblock").first.wait_for(timeout=20_000)
        assert page.locator(".opblock").count() > 50
        assert page.get_by_text("/v1/envelopes/{envelope_id}/grab").count() >= 1
        assert blocked == [] and problems == []
        page.context.close()

    def test_redoc_renders_the_operations(self, browser: Browser, api: Any) -> None:
        blocked: list[str] = []
        problems: list[str] = []
        page = offline_page(browser, str(api.base_url).rstrip("/"), blocked, problems)
        page.goto("/redoc")
        page.locator("[data-section-id^='operation/']").first.wait_for(
            state="attached", timeout=30_000
        )
        assert page.locator("[data-section-id^='operation/']").count() > 50
        assert page.get_by_text("/v1/envelopes/{envelope_id}/grab").count() >= 1
        assert blocked == []
        assert [p for p in problems if REDOC_CREDIT_LOGO not in p] == []
        page.context.close()
