"""The demo store: mounted only when asked; its pages in two languages; CSRF on its forms; its
orders in its own SQLite file, surviving a restart.

Its token box, checkout (quote -> reserve -> paid) and refunds against the real store API are
driven in Chromium by test_journey_share.py; its webhook endpoint by test_demo_store_webhooks.py.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from kinsave_demo_store import create_store
from kinsave_demo_store.checkout_pages import credit_asked
from kinsave_demo_store.orders import Order, OrderBook
from kinsave_demo_store.session import session_key, sign

from kinsave.app import create_app
from kinsave.web import demo_store_orders_path
from tests.conftest import LiveServer

UNREACHABLE_API = "http://127.0.0.1:9"  # pages that never call kinsave


def signed_in_as(shopper_id: str, store_key: str = "ks_store_test") -> str:
    """The store's session cookie for a shopper (as its sign-in callback sets it)."""
    return sign(session_key(store_key), shopper_id)


def csrf_of(page_html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TestClient]:
    app = create_store(UNREACHABLE_API, "ks_store_test", orders_path=tmp_path / "store.db")
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def test_store_is_mounted_only_when_enabled(settings, api, tmp_path):
    assert api.get("/store/").status_code == 404
    enabled = settings.model_copy(
        update={
            "demo_store": True,
            "demo_store_key": "ks_store_demo",
            "demo_store_orders_path": str(tmp_path / "store.db"),
        }
    )
    server = LiveServer(enabled)
    server.start()
    try:
        with httpx.Client(base_url=server.url, follow_redirects=True) as client:
            listing = client.get("/store/")
            assert listing.status_code == 200
            assert "Northeast rice 5 kg" in listing.text and "password token" in listing.text
            assert "content-security-policy" in listing.headers
            form = {"sku": "rice-5kg", "csrf": csrf_of(listing.text)}
            added = client.post("/store/cart/add", data=form)
            assert "Subtotal <strong>¥59.00</strong>" in added.text
    finally:
        server.stop()
    assert (tmp_path / "store.db").exists()


def test_enabled_without_a_store_key_fails_loudly(settings):
    with pytest.raises(RuntimeError, match="KINSAVE_DEMO_STORE_KEY"):
        create_app(settings.model_copy(update={"demo_store": True}))


class TestOrdersFile:
    def test_default_sits_beside_the_sqlite_database(self, settings, tmp_path):
        sqlite = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/kinsave.db"})
        assert demo_store_orders_path(sqlite) == tmp_path / "kinsave-store.db"
        postgres = settings.model_copy(update={"database_url": "postgresql://u@h:5432/db"})
        assert demo_store_orders_path(postgres) == Path("kinsave-store.db")
        chosen = postgres.model_copy(update={"demo_store_orders_path": "/var/lib/s.db"})
        assert demo_store_orders_path(chosen) == Path("/var/lib/s.db")

    def test_orders_survive_a_restart_of_the_store(self, tmp_path):
        path = tmp_path / "store.db"
        first = create_store(UNREACHABLE_API, "ks_store_test", orders_path=path)
        book: OrderBook = first.state.parts.orders
        book.add(Order("ord_1", "grandson", [{"sku": "rice-5kg", "quantity": 1}], 3600, 2000, 300))
        book.mark_refunded("ord_1", 3600, 300)
        del first, book

        restarted = create_store(UNREACHABLE_API, "ks_store_test", orders_path=path)
        with TestClient(restarted) as client:
            client.cookies.set("store_shopper", signed_in_as("grandson"))
            page = client.get("/orders")
            assert 'data-order="ord_1"' in page.text
            assert 'data-status="refunded"' in page.text
            assert "refunded ¥36.00, credit back ¥3.00" in page.text
            client.cookies.set("store_shopper", signed_in_as("someone_else"))
            assert "ord_1" not in client.get("/orders").text


class TestCsrf:
    def test_a_form_without_the_token_is_refused_and_changes_nothing(self, store):
        store.get("/")  # sets the cookie
        refused = store.post("/cart/add", data={"sku": "rice-5kg"}, follow_redirects=False)
        assert refused.status_code == 403
        assert 'data-code="csrf_failed"' in refused.text
        assert "store_cart" not in refused.headers.get("set-cookie", "")

    def test_a_token_from_another_visitor_is_refused(self, store, tmp_path):
        other = create_store(UNREACHABLE_API, "k", orders_path=tmp_path / "other.db")
        with TestClient(other) as stranger:
            foreign = csrf_of(stranger.get("/").text)
        store.get("/")
        form = {"sku": "rice-5kg", "csrf": foreign}
        assert store.post("/cart/add", data=form, follow_redirects=False).status_code == 403

    def test_the_page_token_is_accepted(self, store):
        token = csrf_of(store.get("/").text)
        added = store.post("/cart/add", data={"sku": "rice-5kg", "csrf": token})
        assert added.status_code == 200 and "¥59.00" in added.text
        cookie = next(c for c in store.cookies.jar if c.name == "store_csrf")
        assert cookie.has_nonstandard_attr("HttpOnly")

    def test_every_form_on_every_page_carries_the_token(self, store):
        token = csrf_of(store.get("/").text)
        store.post("/cart/add", data={"sku": "rice-5kg", "csrf": token})
        store.cookies.set("store_shopper", signed_in_as("grandson"))
        for path in ("/", "/cart", "/signin", "/p/rice-5kg"):
            html = store.get(path).text
            forms = html.count("<form")
            assert forms and html.count(f'name="csrf" value="{token}"') == forms, path


class TestLanguages:
    def test_chinese_from_accept_language(self, store):
        page = store.get("/cart", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
        assert '<html lang="zh-CN">' in page.text
        assert "购物车是空的。" in page.text and "丰收家庭超市" in page.text

    def test_english_by_default_and_for_unknown_languages(self, store):
        page = store.get("/cart", headers={"Accept-Language": "fr-FR"})
        assert '<html lang="en">' in page.text and "Your cart is empty." in page.text

    def test_the_switch_outranks_the_browser_and_returns_to_the_page(self, store):
        headers = {"Accept-Language": "en-US"}
        switched = store.get("/lang?to=zh-CN&next=/cart", headers=headers, follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/cart"
        assert "购物车是空的。" in store.get("/cart", headers=headers).text
        link = re.search(r'href="(/lang\?to=en[^"]*)"', store.get("/cart").text)
        assert link and "next=/cart" in link.group(1).replace("&amp;", "&")

    def test_the_switch_never_leaves_the_store(self, store):
        away = store.get("/lang?to=en&next=//evil.example/x", follow_redirects=False)
        assert away.headers["location"] == "/"


class TestSession:
    def test_a_typed_or_forged_shopper_id_signs_nobody_in(self, store):
        for forged in ("grandma", "grandma.0000", signed_in_as("grandma", "ks_store_other")):
            store.cookies.set("store_shopper", forged)
            assert store.get("/orders", follow_redirects=False).status_code == 303
        store.cookies.set("store_shopper", signed_in_as("grandma"))
        assert 'id="signed-in"' in store.get("/orders").text

    def test_the_callback_needs_the_state_it_set(self, store):
        refused = store.get("/signin/callback?code=ksl_x&state=guessed", follow_redirects=False)
        assert refused.status_code == 400 and 'data-code="signin_state"' in refused.text
        assert "store_shopper" not in refused.headers.get("set-cookie", "")

    def test_sign_out(self, store):
        store.cookies.set("store_shopper", signed_in_as("grandma"))
        token = csrf_of(store.get("/cart").text)
        out = store.post("/signout", data={"csrf": token}, follow_redirects=False)
        assert out.status_code == 303 and 'store_shopper=""' in out.headers["set-cookie"]


class TestCreditField:
    """Nobody types fen: the cart's credit field reads yuan, exactly, as text."""

    @pytest.mark.parametrize(
        ("typed", "fen"), [("2.50", 250), ("3", 300), (" 0.1 ", 10), ("", 0), ("0", 0)]
    )
    def test_yuan_as_fen(self, typed, fen):
        assert credit_asked(typed) == fen

    @pytest.mark.parametrize("typed", ["2.505", "-1", "1,5", "abc"])
    def test_not_yuan_is_refused(self, typed):
        assert credit_asked(typed) is None
