"""The store's browser sign-in: the store registers where to come back, the mini app's consent
page names the shop, agreeing goes back with a code (refusing with error=access_denied), and the
mini app never redirects anywhere a store key did not register."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from kinsave.db import unit_of_work, utcnow
from kinsave.storelinks.models import LinkRequest
from tests.factories import error_code, login
from tests.storelinks.factories import Shop, exchange, shop_with_grandma

RETURN = "https://store.example.com/signin/callback?from=kinsave"


@pytest.fixture
def shop(api, session_factory) -> Shop:
    return shop_with_grandma(api, session_factory)


def link_request(api, shop: Shop, return_url: str = RETURN, state: str = "s-123") -> dict:
    body = {"return_url": return_url, "state": state}
    response = api.post("/v1/store/link-requests", json=body, headers=shop.store)
    assert response.status_code == 201, response.text
    answer: dict = response.json()
    return answer


def signed_in_page(api, user_id: str) -> httpx.Client:
    """A browser-like client of the mini app: session cookie and CSRF cookie."""
    token = login(api, user_id)["Authorization"].removeprefix("Bearer ")
    client = httpx.Client(base_url=str(api.base_url), timeout=30)
    client.cookies.set("ks_session", token)
    client.cookies.set("ks_csrf", "csrf-token-for-tests")
    return client


def decide(client: httpx.Client, request_id: str, decision: str) -> httpx.Response:
    form = {"decision": decision, "csrf": "csrf-token-for-tests"}
    return client.post(f"/app/link/{request_id}", data=form, follow_redirects=False)


class TestRoundTrip:
    def test_agree_returns_a_code_the_store_exchanges(self, api, shop):
        started = link_request(api, shop)
        assert started["authorize_url"] == f"{api.base_url}/app/link/{started['request_id']}"
        with signed_in_page(api, "grandma") as page:
            consent = page.get(f"/app/link/{started['request_id']}")
            assert consent.status_code == 200 and "Test Shop" in consent.text
            assert "store.example.com" in consent.text
            policy = consent.headers["content-security-policy"]
            assert "form-action 'self' https://store.example.com;" in policy
            back = decide(page, started["request_id"], "allow")
        assert back.status_code == 303
        location = urlsplit(back.headers["location"])
        assert location.netloc == "store.example.com" and location.path == "/signin/callback"
        query = parse_qs(location.query)
        assert query["from"] == ["kinsave"] and query["state"] == ["s-123"]
        linked = exchange(api, shop.store, query["code"][0])
        assert linked.status_code == 200 and linked.json()["shopper_id"] == "grandma"

    def test_refuse_returns_access_denied_and_links_nothing(self, api, shop):
        started = link_request(api, shop)
        with signed_in_page(api, "grandma") as page:
            back = decide(page, started["request_id"], "deny")
        query = parse_qs(urlsplit(back.headers["location"]).query)
        assert query == {"from": ["kinsave"], "error": ["access_denied"], "state": ["s-123"]}
        wallet = api.get("/v1/store/shoppers/grandma/wallet", headers=shop.store)
        assert error_code(wallet) == "shopper_not_linked"

    def test_signed_out_shopper_signs_in_first(self, api, shop):
        started = link_request(api, shop)
        page = api.get(f"/app/link/{started['request_id']}", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == f"/app/login?next=/app/link/{started['request_id']}"

    def test_the_form_needs_the_csrf_token(self, api, shop):
        started = link_request(api, shop)
        with signed_in_page(api, "grandma") as page:
            form = {"decision": "allow", "csrf": "forged"}
            refused = page.post(f"/app/link/{started['request_id']}", data=form)
        assert refused.status_code == 403 and "location" not in refused.headers


class TestRequests:
    @pytest.mark.parametrize(
        "url",
        [
            "/signin/callback",
            "javascript:alert(1)",
            "ftp://store.example.com/x",
            "https://user:pw@store.example.com/x",
            "https://store.example.com/x#frag",
            "https://store.example.com;evil/x",
            "https://store example.com/x",
        ],
    )
    def test_bad_return_urls(self, api, shop, url):
        body = {"return_url": url, "state": "s"}
        refused = api.post("/v1/store/link-requests", json=body, headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (422, "return_url_invalid")

    def test_unknown_and_expired_requests(self, api, session_factory, shop):
        started = link_request(api, shop)
        with unit_of_work(session_factory) as session:
            session.execute(update(LinkRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        with signed_in_page(api, "grandma") as page:
            assert page.get(f"/app/link/{started['request_id']}").status_code == 410
            assert decide(page, started["request_id"], "allow").status_code == 410
            assert page.get("/app/link/lr_unknown").status_code == 404

    def test_needs_a_store_key(self, api, shop):
        body = {"return_url": RETURN, "state": "s"}
        assert api.post("/v1/store/link-requests", json=body).status_code == 401
        as_shopper = api.post("/v1/store/link-requests", json=body, headers=shop.grandma)
        assert as_shopper.status_code == 401


class TestLinkedStoresPage:
    def test_lists_the_links_with_an_unlink_button(self, api, shop):
        started = link_request(api, shop)
        with signed_in_page(api, "grandma") as page:
            code = parse_qs(
                urlsplit(decide(page, started["request_id"], "allow").headers["location"]).query
            )["code"][0]
            exchange(api, shop.store, code)
            listing = page.get("/app/links").text
        assert re.search(r'data-shop="shop_[0-9a-f]+"', listing) and "Test Shop" in listing
        assert 'class="secondary unlink"' in listing
