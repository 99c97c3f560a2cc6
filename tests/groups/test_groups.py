"""Group deals through the API: create, start, join, succeed (set_price coupons), fail."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from kinsave.db import unit_of_work, utcnow
from kinsave.groups.models import DealGroup
from kinsave.jobs import fail_expired_groups
from tests.coupons.factories import error_code, my_coupon_states
from tests.factories import link_shopper, login, shop_key
from tests.groups.factories import (
    Shop,
    create_deal,
    join,
    make_shop,
    start,
    started,
    webhook_events,
)


@pytest.fixture
def shop(api, session_factory) -> Shop:
    return make_shop(api, session_factory)


def admin_deal(api, shop: Shop, deal_id: str) -> dict[str, object]:
    response = api.get(f"/v1/admin/group-deals/{deal_id}", headers=shop.operator)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def fail_due(session_factory, group_id: str) -> None:
    """Move the group's window into the past and run the sweeper's job."""
    with unit_of_work(session_factory) as session:
        session.execute(
            update(DealGroup)
            .where(DealGroup.id == group_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    fail_expired_groups(session_factory)


class TestCreateDeal:
    def test_created_from_the_catalog(self, api, shop):
        deal = create_deal(api, shop)
        assert (deal["title"], deal["regular_price"], deal["group_price"]) == (
            "Rice 5 kg",
            5900,
            3990,
        )
        assert (deal["window_seconds"], deal["units_left"], deal["status"]) == (86400, 30, "active")
        assert admin_deal(api, shop, deal["id"]) == deal

    @pytest.mark.parametrize(
        ("terms", "code"),
        [
            ({"sku": "nope"}, "not_found"),
            ({"group_price": 5900}, "invalid_request"),
            ({"units": 2}, "invalid_request"),
            ({"group_size": 51}, "invalid_request"),
            ({"channels": ["pigeon"]}, "not_found"),
        ],
    )
    def test_refusals(self, api, shop, terms, code):
        body = {"sku": "rice-5kg", "group_price": 3990, "group_size": 3, "units": 30, **terms}
        refused = api.post("/v1/admin/group-deals", json=body, headers=shop.operator)
        assert error_code(refused) == code
        listed = api.get("/v1/admin/group-deals", headers=shop.operator).json()
        assert listed["deals"] == []

    def test_another_shop_sees_nothing(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        other = shop_key(session_factory, shop="Other Shop")
        response = api.get(f"/v1/admin/group-deals/{deal['id']}", headers=other)
        assert error_code(response) == "not_found"


class TestGroupSucceeds:
    def test_three_members_get_the_group_price(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        grandma, son, daughter = (login(api, who) for who in ("grandma", "son", "daughter"))
        group = started(api, grandma, deal["id"])
        assert (group["status"], group["needed"], group["size"]) == ("forming", 2, 3)
        shown = api.get(f"/v1/group-deals/{deal['id']}", headers=son).json()
        assert [g["id"] for g in shown["open_groups"]] == [group["id"]]
        assert shown["open_groups"][0]["needed"] == 2 and shown["my_group_id"] is None
        assert join(api, son, group["id"]).json()["needed"] == 1
        done = join(api, daughter, group["id"]).json()
        assert (done["status"], done["needed"], len(done["members"])) == ("succeeded", 0, 3)
        assert done["my_coupon_id"] in my_coupon_states(api, daughter)
        for shopper in (grandma, son):
            mine = api.get(f"/v1/groups/{group['id']}", headers=shopper).json()
            assert my_coupon_states(api, shopper) == {mine["my_coupon_id"]: "available"}
        assert webhook_events(session_factory) == ["group.succeeded"]
        watched = admin_deal(api, shop, deal["id"])
        assert (watched["groups_succeeded"], watched["units_left"]) == (1, 27)
        assert watched["conversion_percent"] == 100

    def test_members_buy_at_the_group_price(self, api, shop, session_factory):
        deal = create_deal(api, shop, group_size=2)
        grandma, son = login(api, "grandma"), login(api, "son")
        join(api, son, started(api, grandma, deal["id"])["id"])
        link_shopper(session_factory, shop.shop_id, "son")
        cart = {
            "shopper_id": "son",
            "lines": [{"sku": "rice-5kg", "quantity": 1, "unit_price": 5900}],
            "shipping_fee": 0,
        }
        quote = api.post("/v1/store/checkout/quote", json=cart, headers=shop.store).json()
        assert quote["total_to_pay"] == 3990 and len(quote["coupons"]) == 1

    def test_full_group_refuses_more(self, api, shop):
        deal = create_deal(api, shop, group_size=2)
        grandma, son, aunt = (login(api, who) for who in ("grandma", "son", "aunt"))
        group = started(api, grandma, deal["id"])
        join(api, son, group["id"])
        refused = join(api, aunt, group["id"])
        assert (refused.status_code, error_code(refused)) == (409, "group_full")
        assert my_coupon_states(api, aunt) == {}


class TestRefusals:
    def test_already_in_group(self, api, shop):
        deal = create_deal(api, shop)
        grandma, son = login(api, "grandma"), login(api, "son")
        group = started(api, grandma, deal["id"])
        assert error_code(join(api, grandma, group["id"])) == "already_in_group"
        assert error_code(start(api, grandma, deal["id"])) == "already_in_group"
        other = started(api, son, deal["id"])
        assert error_code(join(api, grandma, other["id"])) == "already_in_group"
        assert admin_deal(api, shop, deal["id"])["units_left"] == 24

    def test_sold_out(self, api, shop):
        deal = create_deal(api, shop, units=4)
        started(api, login(api, "grandma"), deal["id"])
        refused = start(api, login(api, "son"), deal["id"])
        assert (refused.status_code, error_code(refused)) == (409, "group_deal_sold_out")
        assert admin_deal(api, shop, deal["id"])["units_taken"] == 3

    def test_limit_reached(self, api, shop):
        deal = create_deal(api, shop, group_size=2)
        grandma, son = login(api, "grandma"), login(api, "son")
        join(api, son, started(api, grandma, deal["id"])["id"])
        refused = start(api, grandma, deal["id"])
        assert (refused.status_code, error_code(refused)) == (409, "group_limit_reached")

    def test_self_join_from_the_same_device(self, api, shop):
        deal = create_deal(api, shop)
        grandma, second = login(api, "grandma"), login(api, "grandma-2")
        group = start(api, grandma, deal["id"], **{"X-Device-Hash": "phone-1"}).json()
        refused = join(api, second, group["id"], **{"X-Device-Hash": "phone-1"})
        assert (refused.status_code, error_code(refused)) == (403, "group_self_join")
        assert join(api, login(api, "son"), group["id"], **{"X-Device-Hash": "phone-2"}).is_success

    def test_not_found(self, api, shop):
        grandma = login(api, "grandma")
        assert error_code(join(api, grandma, "grp_nope")) == "not_found"
        assert error_code(start(api, grandma, "gd_nope")) == "not_found"
        assert error_code(api.get("/v1/groups/grp_nope", headers=grandma)) == "not_found"

    def test_paused_deal_starts_no_group_but_groups_still_fill(self, api, shop):
        deal = create_deal(api, shop, group_size=2)
        grandma, son = login(api, "grandma"), login(api, "son")
        group = started(api, grandma, deal["id"])
        paused = api.post(
            f"/v1/admin/group-deals/{deal['id']}/status",
            json={"action": "pause"},
            headers=shop.operator,
        )
        assert paused.json()["status"] == "paused"
        assert error_code(start(api, son, deal["id"])) == "group_deal_not_active"
        assert join(api, son, group["id"]).json()["status"] == "succeeded"


class TestIdempotency:
    def test_join_retry_replays(self, api, shop):
        deal = create_deal(api, shop)
        grandma, son = login(api, "grandma"), login(api, "son")
        group = started(api, grandma, deal["id"])
        first = join(api, son, group["id"], **{"Idempotency-Key": "k1"})
        again = join(api, son, group["id"], **{"Idempotency-Key": "k1"})
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json() and first.json()["needed"] == 1


class TestGroupFails:
    def test_window_ends_first(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        grandma, son = login(api, "grandma"), login(api, "son")
        group = started(api, grandma, deal["id"])
        join(api, son, group["id"])
        fail_due(session_factory, group["id"])
        seen = api.get(f"/v1/groups/{group['id']}", headers=grandma).json()
        assert (seen["status"], seen["my_coupon_id"]) == ("failed", None)
        assert my_coupon_states(api, grandma) == {} and my_coupon_states(api, son) == {}
        watched = admin_deal(api, shop, deal["id"])
        assert (watched["units_left"], watched["groups_failed"]) == (30, 1)
        assert webhook_events(session_factory) == ["group.failed"]
        late = join(api, login(api, "aunt"), group["id"])
        assert (late.status_code, error_code(late)) == (410, "group_expired")
        # Failed members are free to start again (their slot came back too).
        assert started(api, grandma, deal["id"])["status"] == "forming"

    def test_two_sweepers_fail_once(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        group = started(api, login(api, "grandma"), deal["id"])
        fail_due(session_factory, group["id"])
        assert fail_expired_groups(session_factory).failed == 0
        assert admin_deal(api, shop, deal["id"])["units_left"] == 30
        assert webhook_events(session_factory) == ["group.failed"]

    def test_past_window_shows_failed_before_the_sweep(self, api, shop, session_factory):
        deal = create_deal(api, shop)
        grandma = login(api, "grandma")
        group = started(api, grandma, deal["id"])
        with unit_of_work(session_factory) as session:
            session.execute(
                update(DealGroup)
                .where(DealGroup.id == group["id"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert api.get(f"/v1/groups/{group['id']}", headers=grandma).json()["status"] == "failed"
        assert error_code(join(api, login(api, "son"), group["id"])) == "group_expired"
