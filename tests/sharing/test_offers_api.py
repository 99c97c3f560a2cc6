"""The coupon that travels with a share, claimed when the store resolves it for a shopper; shares
of targets the store does not offer; the store's landing templates."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx

from kinsave.db import unit_of_work, utcnow
from kinsave.sharing import opening
from kinsave.sharing.models import Share, ShareClaim
from kinsave.sharing.schemas import ResolveIn
from tests.coupons.factories import claim, create_template, push_products
from tests.factories import Headers, create_campaign, error_code, link_shopper, login, shop_key
from tests.sharing.factories import RICE

RESOLVE = "/v1/store/tokens/resolve"


class Shop:
    """A shop selling rice, with its operator and store keys and a running campaign."""

    def __init__(self, api: httpx.Client, session_factory: Any) -> None:
        self.api = api
        self.operator = shop_key(session_factory)
        self.store = shop_key(session_factory, role="store")
        campaign = create_campaign(api, self.operator)
        self.campaign_id = campaign["id"]
        push_products(api, self.store, [RICE])
        login(api, "grandson")  # the grandson has a kinsave account and linked the store
        link_shopper(session_factory, campaign["shop_id"], "grandson")

    def rice_coupon(self, **terms: Any) -> dict[str, Any]:
        return create_template(
            self.api,
            self.operator,
            **{"name": "¥20 off rice", "scope": {"categories": ["rice"]}} | terms,
        )

    def share(self, sharer: Headers, target: dict[str, str], **extra: Any) -> httpx.Response:
        body = {"target": target, "channel": "wechat", "campaign_id": self.campaign_id, **extra}
        return self.api.post("/v1/shares", json=body, headers=sharer)

    def share_rice(self, sharer: Headers) -> dict[str, Any]:
        response = self.share(sharer, {"type": "deal", "id": "rice-5kg"})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def resolve(self, token: str, shopper_id: str | None = None) -> httpx.Response:
        body = {"text": f"{token} from the family"}
        if shopper_id is not None:
            body["shopper_id"] = shopper_id
        return self.api.post(RESOLVE, json=body, headers=self.store)

    def issued(self, template_id: str) -> int:
        response = self.api.get(f"/v1/admin/coupon-templates/{template_id}", headers=self.operator)
        issued: int = response.json()["issued"]
        return issued

    def coupons_of(self, shopper: Headers) -> list[str]:
        return [
            c["template_id"] for c in self.api.get("/v1/coupons", headers=shopper).json()["coupons"]
        ]


class TestCarriedCoupon:
    def test_a_deal_carries_the_best_claimable_coupon_of_its_shop(self, api, session_factory):
        shop = Shop(api, session_factory)
        shop.rice_coupon(name="¥10 off rice", amount=1000)
        best = shop.rice_coupon()
        shop.rice_coupon(name="¥30 off ¥99", kind="threshold", amount=3000, threshold=9900)
        grandma = login(api, "grandma")
        claim(api, grandma, best["id"])  # she holds hers: anyone else may still claim one
        assert shop.share_rice(grandma)["coupon_template_id"] == best["id"]

    def test_no_coupon_saves_anything(self, api, session_factory):
        shop = Shop(api, session_factory)
        shop.rice_coupon(scope={"categories": ["oil"]})
        assert shop.share_rice(login(api, "grandma"))["coupon_template_id"] is None

    def test_a_coupon_share_names_its_shop_by_its_coupon(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon()
        body = {"target": {"type": "coupon", "id": template["id"]}, "channel": "web"}
        response = api.post("/v1/shares", json=body, headers=login(api, "grandma"))
        assert response.status_code == 201, response.text
        assert response.json()["coupon_template_id"] == template["id"]
        resolved = shop.resolve(response.json()["token"], "grandson")
        assert [c["template_id"] for c in resolved.json()["claimed_coupons"]] == [template["id"]]


class TestResolveClaims:
    def test_without_a_shopper_nothing_is_claimed(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon()
        out = shop.share_rice(login(api, "grandma"))
        resolved = shop.resolve(out["token"])
        assert resolved.status_code == 200, resolved.text
        assert (
            resolved.json()["claimed_coupons"] == [] and resolved.json()["coupon_refusal"] is None
        )
        offered = {"template_id": template["id"], "name": "¥20 off rice"}
        assert resolved.json()["offered_coupon"] == offered
        assert shop.issued(template["id"]) == 0

    def test_the_shopper_gets_the_coupon_once(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon(per_shopper_limit=3)
        out = shop.share_rice(login(api, "grandma"))
        first = shop.resolve(out["token"], "grandson").json()
        (coupon,) = first["claimed_coupons"]
        assert coupon["template_id"] == template["id"] and coupon["amount"] == 2000
        assert coupon["name"] == "¥20 off rice" and coupon["state"] == "available"
        assert first["target"] == {"type": "deal", "id": "rice-5kg"}
        again = shop.resolve(out["token"], "grandson").json()
        assert again["claimed_coupons"] == first["claimed_coupons"]
        assert shop.issued(template["id"]) == 1
        assert shop.coupons_of(login(api, "grandson")) == [template["id"]]

    def test_another_share_of_the_same_deal_claims_again_within_the_limit(
        self, api, session_factory
    ):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon(per_shopper_limit=2)
        grandma, grandpa = login(api, "grandma"), login(api, "grandpa")
        for sharer in (grandma, grandpa):
            resolved = shop.resolve(shop.share_rice(sharer)["token"], "grandson").json()
            assert len(resolved["claimed_coupons"]) == 1
        assert shop.issued(template["id"]) == 2

    def test_sold_out_answers_the_target_and_moves_nothing(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon(stock=1)
        out = shop.share_rice(login(api, "grandma"))
        claim(api, login(api, "neighbour"), template["id"])  # the last one goes first
        resolved = shop.resolve(out["token"], "grandson")
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["coupon_refusal"] == "coupon_sold_out"
        assert resolved.json()["claimed_coupons"] == []
        assert resolved.json()["target"] == {"type": "deal", "id": "rice-5kg"}
        assert shop.issued(template["id"]) == 1
        assert shop.coupons_of(login(api, "grandson")) == []
        with unit_of_work(session_factory) as session:
            assert session.query(ShareClaim).filter_by(share_code=out["code"]).count() == 0

    def test_limit_reached(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon()
        out = shop.share_rice(login(api, "grandma"))
        grandson = login(api, "grandson")
        claim(api, grandson, template["id"])
        resolved = shop.resolve(out["token"], "grandson").json()
        assert resolved["coupon_refusal"] == "coupon_limit_reached"
        assert shop.issued(template["id"]) == 1
        assert shop.coupons_of(grandson) == [template["id"]]

    def test_an_expired_coupon_is_refused(self, api, session_factory):
        shop = Shop(api, session_factory)
        until = (utcnow() + timedelta(hours=1)).isoformat()
        template = shop.rice_coupon(valid_days=None, valid_until=until)
        out = shop.share_rice(login(api, "grandma"))
        assert out["coupon_template_id"] == template["id"]
        with unit_of_work(session_factory) as session:
            shop_id = session.get(Share, out["code"]).shop_id
            resolved = opening.resolve_token(
                session,
                shop_id,
                ResolveIn(text=out["token"], shopper_id="grandson"),
                base_url="https://kinsave.test",
                now=utcnow() + timedelta(hours=2),
            )
        assert resolved.coupon_refusal == "coupon_expired" and resolved.claimed_coupons == []
        assert shop.issued(template["id"]) == 0

    def test_a_shopper_who_did_not_link_the_store_is_refused_and_nothing_moves(
        self, api, session_factory
    ):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon()
        out = shop.share_rice(login(api, "grandma"))
        login(api, "neighbour")  # a kinsave shopper, but not one who linked this store
        for stranger in ("neighbour", "nobody-here"):
            refused = shop.resolve(out["token"], stranger)
            assert (refused.status_code, error_code(refused)) == (403, "shopper_not_linked")
        assert shop.issued(template["id"]) == 0
        with unit_of_work(session_factory) as session:
            assert session.get(Share, out["code"]).use_count == 0  # the refusals used nothing


class TestTargetUnavailable:
    def test_a_product_the_store_does_not_sell_cannot_be_shared(self, api, session_factory):
        shop = Shop(api, session_factory)
        grandma = login(api, "grandma")
        refused = shop.share(grandma, {"type": "deal", "id": "caviar-1kg"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            410,
            "target_unavailable",
        )
        with unit_of_work(session_factory) as session:
            assert session.query(Share).count() == 0

    def test_an_ended_coupon_answers_target_unavailable(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon()
        out = shop.share(login(api, "grandma"), {"type": "coupon", "id": template["id"]}).json()
        ended = api.post(f"/v1/admin/coupon-templates/{template['id']}/end", headers=shop.operator)
        assert ended.status_code == 200
        resolved = shop.resolve(out["token"], "grandson")
        assert (resolved.status_code, resolved.json()["error"]["code"]) == (
            410,
            "target_unavailable",
        )
        assert shop.issued(template["id"]) == 0
        with unit_of_work(session_factory) as session:
            assert session.get(Share, out["code"]).use_count == 0  # the refusal used nothing
        again = shop.share(login(api, "grandpa"), {"type": "coupon", "id": template["id"]})
        assert again.json()["error"]["code"] == "target_unavailable"

    def test_link_and_landing_say_so(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon()
        landing = {"coupon": "/shop/?coupon={id}&share={code}"}
        assert api.put("/v1/store/landing", json=landing, headers=shop.store).status_code == 200
        out = shop.share(login(api, "grandma"), {"type": "coupon", "id": template["id"]}).json()
        api.post(f"/v1/admin/coupon-templates/{template['id']}/end", headers=shop.operator)
        opened = api.get(f"/s/{out['code']}", follow_redirects=False)
        assert opened.headers["location"].endswith(f"/app/s/{out['code']}")
        page = api.get(f"/app/s/{out['code']}")
        assert page.status_code == 200 and "no longer available" in page.text

    def test_unknown_envelope_cannot_be_shared(self, api, session_factory):
        shop = Shop(api, session_factory)
        refused = shop.share(login(api, "grandma"), {"type": "envelope", "id": "env_nope"})
        assert refused.json()["error"]["code"] == "target_unavailable"


class TestLandingTemplates:
    def test_registered_templates_lead_every_way_in(self, api, session_factory):
        shop = Shop(api, session_factory)
        templates = {
            "product": "https://shop.example/p/{id}?share={code}",
            "coupon": "/store/?coupon={id}&share={code}",
            "home": "https://shop.example/",
        }
        put = api.put("/v1/store/landing", json=templates, headers=shop.store)
        assert put.status_code == 200, put.text
        got = api.get("/v1/store/landing", headers=shop.store).json()
        assert {k: got[k] for k in templates} == templates
        assert got["envelope"] is None and got["help"] is None
        out = shop.share_rice(login(api, "grandma"))
        resolved = shop.resolve(out["token"]).json()
        assert resolved["landing_url"] == f"https://shop.example/p/rice-5kg?share={out['code']}"

    def test_nothing_registered_reads_as_nulls(self, api, session_factory):
        shop = Shop(api, session_factory)
        got = api.get("/v1/store/landing", headers=shop.store).json()
        assert got == {
            "product": None,
            "coupon": None,
            "envelope": None,
            "help": None,
            "home": None,
            "updated_at": None,
        }

    def test_bad_templates_are_refused_and_change_nothing(self, api, session_factory):
        shop = Shop(api, session_factory)
        good = {"product": "/p/{id}"}
        assert api.put("/v1/store/landing", json=good, headers=shop.store).status_code == 200
        for bad in (
            "p/{id}",
            "//evil.example/{id}",
            "javascript:alert(1)",
            "ftp://shop.example/{id}",
            "https://shop.example/p/{sku}",
            "https://shop.example/p/{id!r}",
            "https://shop.example/p/{id:>9}",
            "https://shop.example/p/{id",
            "https://shop.example/p/ {id}",
        ):
            response = api.put("/v1/store/landing", json={"coupon": bad}, headers=shop.store)
            assert response.status_code == 422, bad
            assert response.json()["error"]["code"] == "landing_template_invalid", bad
            assert response.json()["error"]["details"] == {"field": "coupon"}
        assert api.get("/v1/store/landing", headers=shop.store).json()["product"] == "/p/{id}"

    def test_needs_the_store_key(self, api, session_factory):
        operator = shop_key(session_factory)
        assert api.get("/v1/store/landing", headers=operator).status_code == 403  # not a store key
        assert api.put("/v1/store/landing", json={}).status_code == 401


class TestConcurrentResolves:
    def test_racing_resolves_of_one_share_claim_one_coupon(self, api, session_factory):
        shop = Shop(api, session_factory)
        template = shop.rice_coupon(per_shopper_limit=5)
        out = shop.share_rice(login(api, "grandma"))
        base = str(api.base_url)

        def resolve(_: int) -> list[str]:
            body = {"text": out["token"], "shopper_id": "grandson"}
            with httpx.Client(base_url=base, timeout=30) as client:
                response = client.post(RESOLVE, json=body, headers=shop.store)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["claimed_coupons"]]

        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(resolve, range(6)))
        assert len({tuple(a) for a in answers}) == 1 and len(answers[0]) == 1
        assert shop.issued(template["id"]) == 1
