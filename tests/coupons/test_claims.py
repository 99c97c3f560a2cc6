"""Templates (operators) and claims (shoppers), over HTTP on both databases."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from kinsave.coupons.models import Coupon
from kinsave.db import unit_of_work
from tests.coupons.factories import claim, create_template, error_code, my_coupon_states
from tests.factories import login, shop_key


def coupon_count(session_factory) -> int:
    with unit_of_work(session_factory) as session:
        return session.execute(select(func.count()).select_from(Coupon)).scalar_one()


class TestTemplates:
    def test_issue_body_creates_and_lists_stock_left(self, api, session_factory):
        operator = shop_key(session_factory)
        body = {
            "name": "¥20 off ¥99",
            "kind": "threshold",
            "amount": 2000,
            "percent": 0,
            "cap": 0,
            "threshold": 9900,
            "stock": 10,
            "per_shopper_limit": 1,
            "valid_days": 7,
            "stacking_group": "shop",
            "scope": {"categories": ["rice"]},
        }
        created = api.post("/v1/admin/coupon-templates", json=body, headers=operator)
        assert created.status_code == 201, created.text
        template_id = created.json()["id"]
        claim(api, login(api, "grandma"), template_id)
        listed = api.get("/v1/admin/coupon-templates", headers=operator).json()["templates"]
        assert [(t["id"], t["issued"], t["stock_left"]) for t in listed] == [(template_id, 1, 9)]
        assert listed[0]["scope"] == {"kind": "categories", "values": ["rice"], "min_spend": 0}

    def test_kind_needs_its_terms(self, api, session_factory):
        operator = shop_key(session_factory)
        for bad in (
            {"kind": "amount_off", "amount": 0},
            {"kind": "percent_off", "percent": 0},
            {"kind": "threshold", "amount": 100, "threshold": 0},
            {"valid_days": None},
        ):
            body = {"name": "x", "kind": "amount_off", "amount": 100, "stock": 1, "valid_days": 1}
            response = api.post(
                "/v1/admin/coupon-templates", json={**body, **bad}, headers=operator
            )
            assert response.status_code == 422, (bad, response.text)
        assert api.get("/v1/admin/coupon-templates", headers=operator).json()["templates"] == []

    def test_other_shop_sees_not_found(self, api, session_factory):
        template = create_template(api, shop_key(session_factory))
        other = shop_key(session_factory, shop="Other Shop")
        url = f"/v1/admin/coupon-templates/{template['id']}"
        assert api.get(url, headers=other).status_code == 404
        assert api.post(url + "/end", headers=other).status_code == 404


class TestClaim:
    def test_claim_lists_as_available_with_expiry(self, api, session_factory):
        template = create_template(api, shop_key(session_factory), valid_days=3)
        grandma = login(api, "grandma")
        coupon = claim(api, grandma, template["id"])
        expires = datetime.fromisoformat(coupon["expires_at"])
        assert timedelta(days=2, hours=23) < expires - datetime.now(UTC) <= timedelta(days=3)
        assert my_coupon_states(api, grandma) == {coupon["id"]: "available"}

    def test_limit_reached_moves_nothing(self, api, session_factory):
        template = create_template(api, shop_key(session_factory), per_shopper_limit=2)
        grandma = login(api, "grandma")
        claim(api, grandma, template["id"])
        claim(api, grandma, template["id"])
        third = api.post("/v1/coupons/claim", json={"template_id": template["id"]}, headers=grandma)
        assert (third.status_code, error_code(third)) == (409, "coupon_limit_reached")
        assert coupon_count(session_factory) == 2

    def test_sold_out_moves_nothing(self, api, session_factory):
        operator = shop_key(session_factory)
        template = create_template(api, operator, stock=1)
        claim(api, login(api, "grandma"), template["id"])
        late = api.post(
            "/v1/coupons/claim", json={"template_id": template["id"]}, headers=login(api, "mum")
        )
        assert (late.status_code, error_code(late)) == (409, "coupon_sold_out")
        assert coupon_count(session_factory) == 1
        listed = api.get(f"/v1/admin/coupon-templates/{template['id']}", headers=operator).json()
        assert listed["stock_left"] == 0

    def test_paused_not_claimable_then_resumed(self, api, session_factory):
        operator = shop_key(session_factory)
        template = create_template(api, operator)
        url = f"/v1/admin/coupon-templates/{template['id']}"
        assert api.post(url + "/pause", headers=operator).json()["status"] == "paused"
        grandma = login(api, "grandma")
        refused = api.post(
            "/v1/coupons/claim", json={"template_id": template["id"]}, headers=grandma
        )
        assert (refused.status_code, error_code(refused)) == (409, "coupon_not_claimable")
        assert coupon_count(session_factory) == 0
        api.post(url + "/resume", headers=operator)
        claim(api, grandma, template["id"])

    def test_ended_template_keeps_claimed_coupons_valid(self, api, session_factory):
        operator = shop_key(session_factory)
        template = create_template(api, operator)
        grandma = login(api, "grandma")
        coupon = claim(api, grandma, template["id"])
        url = f"/v1/admin/coupon-templates/{template['id']}"
        assert api.post(url + "/end", headers=operator).json()["status"] == "ended"
        assert api.post(url + "/resume", headers=operator).status_code == 409
        assert my_coupon_states(api, grandma) == {coupon["id"]: "available"}
        refused = api.post(
            "/v1/coupons/claim", json={"template_id": template["id"]}, headers=login(api, "mum")
        )
        assert error_code(refused) == "coupon_not_claimable"

    def test_window_over_is_expired(self, api, session_factory):
        past = datetime.now(UTC) - timedelta(days=1)
        template = create_template(
            api,
            shop_key(session_factory),
            valid_days=None,
            valid_from=(past - timedelta(days=2)).isoformat(),
            valid_until=past.isoformat(),
        )
        refused = api.post(
            "/v1/coupons/claim", json={"template_id": template["id"]}, headers=login(api, "grandma")
        )
        assert (refused.status_code, error_code(refused)) == (410, "coupon_expired")

    def test_idempotency_key_replays_the_claim(self, api, session_factory):
        template = create_template(api, shop_key(session_factory), per_shopper_limit=3)
        grandma = {**login(api, "grandma"), "Idempotency-Key": "claim-1"}
        first = api.post("/v1/coupons/claim", json={"template_id": template["id"]}, headers=grandma)
        again = api.post("/v1/coupons/claim", json={"template_id": template["id"]}, headers=grandma)
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert coupon_count(session_factory) == 1

    def test_center_shows_what_i_can_still_claim(self, api, session_factory):
        operator = shop_key(session_factory)
        once = create_template(api, operator, name="once")
        twice = create_template(api, operator, name="twice", per_shopper_limit=2)
        create_template(api, operator, name="gone", stock=1)
        grandma, mum = login(api, "grandma"), login(api, "mum")
        gone_id = api.get("/v1/coupons/center", headers=mum).json()["templates"][-1]["template"][
            "id"
        ]
        claim(api, mum, gone_id)
        claim(api, grandma, once["id"])
        claim(api, grandma, twice["id"])
        center = api.get("/v1/coupons/center", headers=grandma).json()["templates"]
        assert [(e["template"]["name"], e["can_claim"]) for e in center] == [("twice", 1)]
