"""The demo store mounts at /store only when asked, and its own pages render.

Its token box, checkout (quote -> reserve -> paid) and refunds against the real store API are
driven in Chromium by test_journey_share.py.
"""

import httpx
import pytest

from kinsave.app import create_app
from tests.conftest import LiveServer


def test_store_is_mounted_only_when_enabled(settings, api):
    assert api.get("/store/").status_code == 404
    enabled = settings.model_copy(update={"demo_store": True, "demo_store_key": "ks_store_demo"})
    server = LiveServer(enabled)
    server.start()
    try:
        with httpx.Client(base_url=server.url, follow_redirects=True) as client:
            listing = client.get("/store/")
            assert listing.status_code == 200
            assert "Northeast rice 5 kg" in listing.text and "password token" in listing.text
            assert "content-security-policy" in listing.headers
            added = client.post("/store/cart/add", data={"sku": "rice-5kg"})
            assert "Subtotal <strong>¥59.00</strong>" in added.text
    finally:
        server.stop()


def test_enabled_without_a_store_key_fails_loudly(settings):
    with pytest.raises(RuntimeError, match="KINSAVE_DEMO_STORE_KEY"):
        create_app(settings.model_copy(update={"demo_store": True}))
