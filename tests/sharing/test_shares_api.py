"""Shares over HTTP: forms per channel, QR, token resolve, short links, landing, revoke."""

from datetime import UTC, datetime, timedelta

from kinsave.db import unit_of_work
from kinsave.sharing.models import Share
from kinsave.sharing.tokens import find_code
from tests.coupons.factories import push_products
from tests.factories import create_campaign, login, shop_key
from tests.sharing.factories import RICE, api_share

HUMAN = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0"}


def setup(api, session_factory):
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    campaign = create_campaign(api, operator)
    push_products(api, store, [RICE])
    return operator, store, campaign["id"], login(api, "grandma")


class TestCreate:
    def test_wechat_offers_deep_link_qr_and_token_but_no_link(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id, "wechat")
        assert len(out["code"]) == 11 and out["token"] == f"￥{out['code']}￥"
        assert out["link"] is None and out["deep_link"].startswith("weixin://")
        assert out["qr_svg"].startswith("<svg") and out["text"].startswith(out["token"])
        assert out["payment_methods"] == ["wallet", "wechat_pay"]
        png = api.get(out["qr_png_url"].removeprefix(str(api.base_url).rstrip("/")))
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    def test_web_offers_short_link(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id, "web")
        assert out["link"].endswith(f"/s/{out['code']}") and out["deep_link"] is None
        assert out["link"] in out["text"]

    def test_sms_has_no_qr(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id, "sms")
        assert out["qr_svg"] is None and out["qr_png_url"] is None
        assert api.get(f"/v1/shares/{out['code']}/qr.png").status_code == 404

    def test_copy_in_the_sharers_language_per_channel(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        web = api_share(api, grandma, campaign_id, "web", language="zh-CN")
        assert web["text"].startswith(web["token"]) and f"打开：{web['link']}" in web["text"]
        wechat = api_share(api, grandma, campaign_id, "wechat", language="zh-CN")
        assert "打开小程序" in wechat["text"] and "Copy" not in wechat["text"]
        sms = api_share(api, grandma, campaign_id, "sms", language="zh-CN")
        assert "给你分享一个店里的好价" in sms["text"]
        english = api_share(api, grandma, campaign_id, "sms")
        assert "A deal for you" in english["text"] and "Open: " in english["text"]
        # The token still travels first, whatever the language.
        assert find_code(sms["text"]) == sms["code"]

    def test_unknown_language_is_refused(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        body = {"target": {"type": "deal", "id": "rice-5kg"}, "channel": "web"}
        refused = api.post(
            "/v1/shares",
            json={**body, "campaign_id": campaign_id, "language": "fr"},
            headers=grandma,
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_request"

    def test_refusals(self, api, session_factory):
        operator, _, campaign_id, grandma = setup(api, session_factory)
        target = {"type": "deal", "id": "rice"}
        cases = [
            ({"target": target, "channel": "nope", "campaign_id": campaign_id}, 404, "not_found"),
            ({"target": target, "channel": "web", "campaign_id": "cmp_x"}, 404, "not_found"),
            ({"target": target, "channel": "web"}, 422, "invalid_request"),
            ({"target": {"type": "pony", "id": "x"}, "channel": "web"}, 422, "invalid_request"),
        ]
        for body, status, code in cases:
            response = api.post("/v1/shares", json=body, headers=grandma)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        api.post(
            f"/v1/admin/campaigns/{campaign_id}/status", json={"status": "paused"}, headers=operator
        )
        paused = api.post("/v1/shares", json={**cases[0][0], "channel": "web"}, headers=grandma)
        assert paused.json()["error"]["code"] == "campaign_not_active"
        assert api.post("/v1/shares", json=cases[0][0]).status_code == 401

    def test_share_without_campaign_names_its_shop(self, api, session_factory):
        operator, store, _, grandma = setup(api, session_factory)
        shop_id = api.get("/v1/admin/campaigns", headers=operator).json()["campaigns"][0]["shop_id"]
        body = {"target": {"type": "deal", "id": "rice-5kg"}, "channel": "web", "shop_id": shop_id}
        out = api.post("/v1/shares", json=body, headers=grandma)
        assert out.status_code == 201
        resolved = api.post(
            "/v1/store/tokens/resolve", json={"text": out.json()["token"]}, headers=store
        )
        assert resolved.json()["target"] == {"type": "deal", "id": "rice-5kg"}


class TestResolve:
    def test_pasted_text_resolves(self, api, session_factory):
        _, store, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id, "wechat")
        pasted = f"【Rice】{out['text']} 😀 copied from the family group"
        response = api.post("/v1/store/tokens/resolve", json={"text": pasted}, headers=store)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "code": out["code"],
            "target": {"type": "deal", "id": "rice-5kg"},
            "attribution": out["code"],
            "campaign_id": campaign_id,
            "channel": "wechat",
            "landing_url": None,  # the store registered no landing templates
            "offered_coupon": None,
            "claimed_coupons": [],
            "coupon_refusal": None,
        }

    def test_errors(self, api, session_factory):
        _, store, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id)
        other_store = shop_key(session_factory, shop="Other Shop", role="store")

        def resolve(text, headers=store):
            response = api.post("/v1/store/tokens/resolve", json={"text": text}, headers=headers)
            return response.status_code, response.json()["error"]["code"]

        assert resolve("no token here") == (422, "token_not_found_in_text")
        assert resolve("￥AAAAAAAAAAA￥") == (404, "token_unknown")
        assert resolve(out["token"], other_store) == (404, "token_unknown")
        with unit_of_work(session_factory) as session:
            session.get(Share, out["code"]).expires_at = datetime.now(UTC) - timedelta(seconds=1)
        assert resolve(out["token"]) == (410, "token_expired")
        second = api_share(api, grandma, campaign_id)
        assert api.delete(f"/v1/shares/{second['code']}", headers=grandma).status_code == 204
        assert resolve(second["token"]) == (410, "token_revoked")
        assert (
            api.post("/v1/store/tokens/resolve", json={"text": "x"}, headers=grandma).status_code
            == 401
        )

    def test_use_limit_holds_under_concurrent_resolves(self, api, session_factory):
        operator, store, campaign_id, grandma = setup(api, session_factory)
        api.put(
            f"/v1/admin/campaigns/{campaign_id}/sharing",
            json={"share_use_limit": 3},
            headers=operator,
        )
        out = api_share(api, grandma, campaign_id)
        from concurrent.futures import ThreadPoolExecutor

        def resolve(_):
            return api.post(
                "/v1/store/tokens/resolve", json={"text": out["token"]}, headers=store
            ).status_code

        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(pool.map(resolve, range(8)))
        assert statuses == [200] * 3 + [410] * 5


class TestRevoke:
    def test_only_sharer_or_operator(self, api, session_factory):
        operator, _, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id)
        stranger = login(api, "stranger")
        assert api.delete(f"/v1/shares/{out['code']}", headers=stranger).status_code == 404
        other_operator = shop_key(session_factory, shop="Other Shop")
        assert (
            api.post(f"/v1/admin/shares/{out['code']}/revoke", headers=other_operator).status_code
            == 404
        )
        assert (
            api.post(f"/v1/admin/shares/{out['code']}/revoke", headers=operator).status_code == 204
        )
        landing = api.get(f"/app/s/{out['code']}")
        assert "withdrawn" in landing.text


class TestShortLink:
    def test_human_goes_to_the_stores_registered_page(self, api, session_factory):
        _, store, campaign_id, grandma = setup(api, session_factory)
        landing = {"product": "/shop/p/{id}?share={code}"}
        assert api.put("/v1/store/landing", json=landing, headers=store).status_code == 200
        out = api_share(api, grandma, campaign_id, "web")
        response = api.get(f"/s/{out['code']}", headers=HUMAN, follow_redirects=False)
        assert response.status_code == 302
        base = str(api.base_url).rstrip("/")
        assert response.headers["location"] == f"{base}/shop/p/rice-5kg?share={out['code']}"

    def test_nothing_registered_goes_to_kinsaves_landing_page(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id, "web")
        response = api.get(f"/s/{out['code']}", headers=HUMAN, follow_redirects=False)
        assert response.headers["location"].endswith(f"/app/s/{out['code']}")

    def test_blocked_store_domain_goes_to_landing_with_token(self, api, session_factory):
        operator, store, campaign_id, grandma = setup(api, session_factory)
        landing = {"product": "https://shop.example/p/{id}?share={code}"}
        assert api.put("/v1/store/landing", json=landing, headers=store).status_code == 200
        out = api_share(api, grandma, campaign_id, "whatsapp")
        body = {"blocked_domains": ["shop.example"]}
        api.put("/v1/admin/channels/whatsapp/policy", json=body, headers=operator)
        response = api.get(f"/s/{out['code']}", headers=HUMAN, follow_redirects=False)
        assert response.headers["location"].endswith(f"/app/s/{out['code']}")
        landing = api.get(response.headers["location"].removeprefix(str(api.base_url).rstrip("/")))
        assert landing.status_code == 200 and f"￥{out['code']}￥" in landing.text

    def test_unknown_code(self, api, session_factory):
        assert api.get("/s/AAAAAAAAAAA", follow_redirects=False).status_code == 404
        assert api.get("/s/../../etc", follow_redirects=False).status_code == 404


class TestRetries:
    def test_resolve_retry_uses_the_share_once(self, api, session_factory):
        operator, store, campaign_id, grandma = setup(api, session_factory)
        api.put(
            f"/v1/admin/campaigns/{campaign_id}/sharing",
            json={"share_use_limit": 1},
            headers=operator,
        )
        out = api_share(api, grandma, campaign_id)
        headers = {**store, "Idempotency-Key": "paste-1"}
        first = api.post("/v1/store/tokens/resolve", json={"text": out["token"]}, headers=headers)
        again = api.post("/v1/store/tokens/resolve", json={"text": out["token"]}, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
        fresh = api.post("/v1/store/tokens/resolve", json={"text": out["token"]}, headers=store)
        assert fresh.json()["error"]["code"] == "token_used_up"

    def test_share_retry_returns_the_same_code(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        headers = {**grandma, "Idempotency-Key": "share-1"}
        first = api_share(api, headers, campaign_id)
        assert api_share(api, headers, campaign_id)["code"] == first["code"]


class TestAccept:
    def test_accepting_a_share_links_the_circle(self, api, session_factory):
        _, _, campaign_id, grandma = setup(api, session_factory)
        out = api_share(api, grandma, campaign_id, "wechat")
        grandson = login(api, "grandson")
        accepted = api.post(f"/v1/shares/{out['code']}/accept", headers=grandson)
        assert accepted.status_code == 200, accepted.text
        circle = api.get("/v1/circle", headers=grandma).json()
        assert [r["shopper_id"] for r in circle["relatives"]] == ["grandson"]
        own = api.post(f"/v1/shares/{out['code']}/accept", headers=grandma)
        assert own.status_code == 200
        assert api.get("/v1/circle", headers=grandma).json()["relatives"][0]["shopper_id"] == (
            "grandson"
        )
