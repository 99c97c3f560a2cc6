"""The pages' cookie session, CSRF, CSP, escaping and weight, checked over plain HTTP."""

import re

import httpx

from tests.coupons.factories import create_template, push_products
from tests.factories import (
    create_campaign,
    funded_shopper,
    give_credit,
    login,
    shop_key,
    wallet_balance,
)

PAGE_BUDGET = 150 * 1024


def page_login(client: httpx.Client, user_id: str) -> str:
    """Sign in through the page form; returns the CSRF token the page's script would send."""
    client.get("/app/login")
    csrf = client.cookies["ks_csrf"]
    response = client.post("/app/login", data={"user_id": user_id, "csrf": csrf})
    assert response.status_code == 303, response.text
    return csrf


def browser_like(api: httpx.Client) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, timeout=30)


class TestCookieSession:
    def test_session_cookie_is_httponly_and_lax(self, api):
        with browser_like(api) as client:
            client.get("/app/login")
            csrf = client.cookies["ks_csrf"]
            response = client.post("/app/login", data={"user_id": "grandma", "csrf": csrf})
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith("ks_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # served over plain http here; https adds Secure

    def test_a_cookie_change_needs_the_csrf_header(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        with browser_like(api) as client:
            csrf = page_login(client, "grandma")
            give_credit(api, operator, campaign["id"], "grandma", 1000)
            body = {"total": 500, "shares": 2}
            refused = client.post("/v1/envelopes", json=body)
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "forbidden"
            wrong = client.post("/v1/envelopes", json=body, headers={"X-Kinsave-CSRF": "guess"})
            assert wrong.status_code == 403
            assert wallet_balance(client, {}) == 1000  # nothing moved
            sent = client.post("/v1/envelopes", json=body, headers={"X-Kinsave-CSRF": csrf})
            assert sent.status_code == 201, sent.text
            assert wallet_balance(client, {}) == 500

    def test_bearer_works_unchanged_and_wins_over_a_cookie(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        mum = funded_shopper(api, operator, campaign["id"], "mum", 700)
        with browser_like(api) as client:
            page_login(client, "grandma")
            # Bearer requests need no CSRF header: a browser never adds that header by itself.
            sent = client.post("/v1/envelopes", json={"total": 200, "shares": 2}, headers=mum)
            assert sent.status_code == 201, sent.text
            assert sent.json()["sender_shopper_id"] == "mum"

    def test_login_form_without_csrf_sets_no_session(self, api):
        with browser_like(api) as client:
            client.get("/app/login")
            response = client.post("/app/login", data={"user_id": "grandma", "csrf": "nope"})
            assert response.status_code == 403
            assert "ks_session" not in client.cookies

    def test_console_form_without_csrf_creates_nothing(self, api, session_factory):
        operator = shop_key(session_factory)
        key = operator["Authorization"].removeprefix("Bearer ")
        with browser_like(api) as client:
            client.get("/admin/login")
            csrf = client.cookies["ks_csrf"]
            signed_in = client.post("/admin/login", data={"api_key": key, "csrf": csrf})
            assert signed_in.status_code == 303
            forged = client.post(
                "/admin/campaigns", data={"name": "Forged", "budget": "10", "csrf": "x"}
            )
            assert forged.status_code == 403
        listed = api.get("/v1/admin/campaigns", headers=operator).json()
        assert listed["campaigns"] == []


class TestPages:
    def test_pages_send_a_csp_without_inline_script(self, api):
        with browser_like(api) as client:
            page_login(client, "grandma")
            response = client.get("/app")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert not re.search(r"<script(?![^>]*(src=|application/json))", response.text)

    def test_api_docs_allow_only_their_own_scripts(self, api):
        for path in ("/docs", "/redoc"):
            response = api.get(path)
            policy = response.headers["content-security-policy"]
            script_src = policy.split("script-src")[1].split(";")[0]
            assert "unsafe-inline" not in script_src and "http" not in policy
            assert "cdn" not in response.text and "googleapis" not in response.text

    def test_envelope_message_is_escaped(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        evil = "<script>alert(1)</script>"
        sent = api.post(
            "/v1/envelopes", json={"total": 100, "shares": 1, "message": evil}, headers=grandma
        )
        with browser_like(api) as client:
            page_login(client, "mum")
            html = client.get(f"/app/e/{sent.json()['id']}").text
        assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_language_switch_is_no_open_redirect(self, api):
        response = api.get("/lang", params={"to": "en", "next": "//evil.example/x"})
        assert response.status_code == 303 and response.headers["location"] == "/app"

    def test_no_mini_app_page_is_over_150_kb_before_images(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(
            api, operator, daily_rule={"kind": "uniform", "min": 1, "max": 9}
        )
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        login(api, "mum")
        sent = api.post("/v1/envelopes", json={"total": 100, "shares": 2}, headers=grandma)
        # A full deals page and coupon center, and a help request.
        products = [
            {"sku": f"sku-{n}", "title": f"Product {n} " * 4, "price": 1000 + n, "category": "c"}
            for n in range(60)
        ]
        push_products(api, shop_key(session_factory, role="store"), products)
        for n in range(10):
            create_template(api, operator, name=f"Coupon {n}", scope={"categories": ["c"]})
        offer = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/help-offers",
            json={"helpers_needed": 3, "hours": 24, "reward": 100},
            headers=operator,
        ).json()
        helped = api.post("/v1/help-requests", json={"offer_id": offer["id"]}, headers=grandma)
        pages = (
            "/app",
            "/app/wallet",
            "/app/send",
            f"/app/e/{sent.json()['id']}",
            "/app/deals",
            "/app/coupons",
            "/app/share?type=deal&id=sku-1",
            "/app/circle",
            "/app/help",
            f"/app/help/{helped.json()['id']}",
        )
        with browser_like(api) as client:
            page_login(client, "grandma")
            for path in pages:
                html = client.get(path)
                assert html.status_code == 200, path
                assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.text)
                weight = len(html.content) + sum(len(client.get(a).content) for a in assets)
                assert weight < PAGE_BUDGET, (path, weight)
