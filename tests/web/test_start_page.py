"""The start page (/): a newcomer finds the pages and the API docs from the root."""

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from kinsave.app import create_app
from kinsave.config import Settings


class TestStartPage:
    def test_root_links_to_the_pages_and_the_docs(self, api: httpx.Client) -> None:
        response = api.get("/")
        assert response.status_code == 200
        links = set(re.findall(r'href="(/[^"]*)"', response.text))
        assert {"/app", "/admin", "/docs", "/redoc", "/openapi.json"} <= links

    def test_no_store_link_without_the_demo_store(self, api: httpx.Client) -> None:
        # The test server runs without KINSAVE_DEMO_STORE: a link to /store would be a 404.
        assert 'href="/store"' not in api.get("/").text
        assert api.get("/store").status_code == 404

    def test_store_link_with_the_demo_store(self, settings: Settings, tmp_path: Path) -> None:
        enabled = settings.model_copy(
            update={
                "demo_store": True,
                "demo_store_key": "ks_store_demo",
                "demo_store_orders_path": str(tmp_path / "store.db"),
            }
        )
        with TestClient(create_app(enabled)) as client:
            assert 'href="/store"' in client.get("/").text
