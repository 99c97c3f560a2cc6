"""Price cuts with friends through the API: a fixed schedule, exact cuts, set_price at the end."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from kinsave.auth.deps import SESSION_COOKIE
from kinsave.db import unit_of_work, utcnow
from kinsave.jobs import expire_price_cuts
from kinsave.social.models import PriceCutHelp
from kinsave.social.price_cut_schedule import cut_schedule, price_after
from tests.coupons.factories import RICE_PRODUCTS, error_code, my_coupon_states, push_products
from tests.factories import Headers, link_shopper, login, shop_key, store_shop_id


class TestSchedule:
    @given(
        regular=st.integers(2, 10**7),
        helpers=st.integers(1, 50),
        final_share=st.floats(0, 0.99),
    )
    def test_cuts_add_up_to_the_final_price(self, regular, helpers, final_share):
        final = int(regular * final_share)
        if regular - final < helpers:
            return
        schedule = cut_schedule(regular, final, helpers)
        assert len(schedule) == helpers and min(schedule) >= 1
        assert max(schedule) - min(schedule) <= 1 and schedule == sorted(schedule, reverse=True)
        assert price_after(regular, schedule, helpers) == final
        assert schedule == cut_schedule(regular, final, helpers)  # deterministic

    def test_rice_for_five_relatives(self):
        assert cut_schedule(5900, 2990, 5) == [582, 582, 582, 582, 582]
        assert cut_schedule(5900, 2990, 4) == [728, 728, 727, 727]


@pytest.fixture
def offer(api, session_factory) -> dict[str, object]:
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    push_products(api, store, RICE_PRODUCTS)
    body = {"sku": "rice-5kg", "final_price": 2990, "helpers_needed": 3, "units": 2}
    response = api.post("/v1/admin/price-cuts", json=body, headers=operator)
    assert response.status_code == 201, response.text
    result: dict[str, object] = {**response.json(), "store": store}
    result["shop_id"] = store_shop_id(session_factory, store)
    return result


def start(api, shopper: Headers, offer_id: object):
    return api.post("/v1/price-cuts", json={"offer_id": offer_id}, headers=shopper)


def help_cut(api, helper: Headers, cut_id: str, **headers: str):
    return api.post(f"/v1/price-cuts/{cut_id}/help", headers={**helper, **headers})


class TestPriceCut:
    def test_each_helper_cuts_the_shown_amount(self, api, offer, session_factory):
        assert offer["schedule"] == [970, 970, 970]
        grandma = login(api, "grandma")
        cut = start(api, grandma, offer["id"]).json()
        assert (cut["price_now"], cut["next_cut"], cut["state"]) == (5900, 970, "open")
        for n, who in enumerate(("son", "daughter", "grandson"), start=1):
            seen = help_cut(api, login(api, who), cut["id"]).json()
            assert seen["price_now"] == 5900 - 970 * n
            assert seen["helpers"][-1]["amount"] == 970
        assert (seen["state"], seen["price_now"], seen["next_cut"]) == ("completed", 2990, None)
        assert my_coupon_states(api, grandma) == {seen["coupon_id"]: "available"}
        link_shopper(session_factory, offer["shop_id"], "grandma")
        cart = {
            "shopper_id": "grandma",
            "lines": [{"sku": "rice-5kg", "quantity": 1, "unit_price": 5900}],
            "shipping_fee": 0,
        }
        quote = api.post("/v1/store/checkout/quote", json=cart, headers=offer["store"]).json()
        assert quote["total_to_pay"] == 2990

    def test_refusals_change_nothing(self, api, offer):
        grandma, son = login(api, "grandma"), login(api, "son")
        cut = start(api, grandma, offer["id"]).json()
        assert error_code(help_cut(api, grandma, cut["id"])) == "help_self_not_allowed"
        help_cut(api, son, cut["id"])
        assert error_code(help_cut(api, son, cut["id"])) == "help_already_given"
        assert error_code(start(api, grandma, offer["id"])) == "help_request_already_open"
        seen = api.get(f"/v1/price-cuts/{cut['id']}", headers=son).json()
        assert (seen["helped"], seen["price_now"]) == (1, 4930)
        for who in ("daughter", "grandson"):
            help_cut(api, login(api, who), cut["id"])
        late = help_cut(api, login(api, "aunt"), cut["id"])
        assert error_code(late) == "help_request_closed"

    def test_units_run_out(self, api, offer):
        start(api, login(api, "grandma"), offer["id"])
        start(api, login(api, "son"), offer["id"])
        refused = start(api, login(api, "aunt"), offer["id"])
        assert (refused.status_code, error_code(refused)) == (409, "price_cut_sold_out")

    def test_expiry_ends_with_nothing_owed(self, api, offer, session_factory):
        grandma = login(api, "grandma")
        cut = start(api, grandma, offer["id"]).json()
        help_cut(api, login(api, "son"), cut["id"])
        report = expire_price_cuts(session_factory, now=utcnow() + timedelta(hours=25))
        assert report.expired == 1
        seen = api.get(f"/v1/price-cuts/{cut['id']}", headers=grandma).json()
        assert (seen["state"], seen["coupon_id"]) == ("expired", None)
        assert my_coupon_states(api, grandma) == {}
        assert expire_price_cuts(session_factory, now=utcnow() + timedelta(hours=25)).expired == 0
        shown = api.get(f"/v1/price-cut-offers/{offer['id']}", headers=grandma).json()
        assert shown["units_left"] == 2

    def test_idempotent_help(self, api, offer):
        cut = start(api, login(api, "grandma"), offer["id"]).json()
        son = login(api, "son")
        first = help_cut(api, son, cut["id"], **{"Idempotency-Key": "h1"})
        again = help_cut(api, son, cut["id"], **{"Idempotency-Key": "h1"})
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"


class TestSharedPriceCut:
    def _share(self, api, shopper: Headers, cut_id: str, **body: object):
        payload = {"target": {"type": "price_cut", "id": cut_id}, "channel": "wechat", **body}
        response = api.post("/v1/shares", json=payload, headers=shopper)
        assert response.status_code == 201, response.text
        return response.json()

    def test_shared_with_its_terms_and_opened_on_its_page(self, api, offer):
        grandma, son = login(api, "grandma"), login(api, "son")
        cut = start(api, grandma, offer["id"]).json()
        out = self._share(api, grandma, cut["id"], device_hash="grandma-phone")
        assert "¥29.90 once 3 more helpers cut, each cut shown in advance, " in out["text"]
        assert out["mini_app_card"]["title"].startswith("Cut to ¥29.90 with 3 more helpers, ")
        token = son["Authorization"].removeprefix("Bearer ")
        opened = api.get(
            f"/app/open/{out['code']}",
            headers={"Cookie": f"{SESSION_COOKIE}={token}"},
            follow_redirects=False,
        )
        assert opened.headers["location"] == f"/app/price-cuts/{cut['id']}?share={out['code']}"

    def test_a_second_account_on_the_requesters_device_cannot_cut(self, api, offer):
        grandma, second = login(api, "grandma"), login(api, "grandma-2")
        cut = start(api, grandma, offer["id"]).json()
        self._share(api, grandma, cut["id"], device_hash="grandma-phone")
        refused = help_cut(api, second, cut["id"], **{"X-Device-Hash": "grandma-phone"})
        assert (refused.status_code, error_code(refused)) == (403, "help_self_not_allowed")
        seen = api.get(f"/v1/price-cuts/{cut['id']}", headers=second).json()
        assert seen["helped"] == 0
        assert help_cut(
            api, login(api, "son"), cut["id"], **{"X-Device-Hash": "son-phone"}
        ).is_success

    def test_a_help_through_the_share_records_it(self, api, offer, session_factory):
        grandma, son, aunt = login(api, "grandma"), login(api, "son"), login(api, "aunt")
        cut = start(api, grandma, offer["id"]).json()
        code = self._share(api, grandma, cut["id"])["code"]
        other_cut = start(api, son, offer["id"]).json()
        elsewhere = self._share(api, son, other_cut["id"])["code"]
        assert help_cut(api, son, cut["id"], **{"X-Share-Code": code}).is_success
        # A code that does not lead to this price cut is dropped, not refused.
        assert help_cut(api, aunt, cut["id"], **{"X-Share-Code": elsewhere}).is_success
        assert helps_via_share(session_factory, cut["id"]) == {"son": code, "aunt": None}


def helps_via_share(session_factory, cut_id: str) -> dict[str, str | None]:
    with unit_of_work(session_factory) as session:
        rows = session.execute(
            select(PriceCutHelp.helper_id, PriceCutHelp.via_share).where(
                PriceCutHelp.cut_id == cut_id
            )
        )
        return {helper: via for helper, via in rows}
