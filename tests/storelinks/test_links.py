"""Store links: an unlinked store is refused, link codes are single use, expire and belong to one
shop, unlinking stops the store (cancel and refund still give money back), re-linking works."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from kinsave.coupons.models import CheckoutOrder
from kinsave.db import unit_of_work, utcnow
from kinsave.storelinks.models import LinkCode
from tests.coupons.factories import my_coupon_states
from tests.factories import error_code, login, race, shop_key
from tests.storelinks.factories import (
    LINES,
    Shop,
    exchange,
    issue_code,
    link,
    reserve_body,
    shop_with_grandma,
    wallet_of,
)


@pytest.fixture
def shop(api, session_factory) -> Shop:
    return shop_with_grandma(api, session_factory)


def order_count(session_factory) -> int:
    with unit_of_work(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(CheckoutOrder)) or 0)


def assert_nothing_moved(api, session_factory, shop: Shop) -> None:
    assert wallet_of(session_factory, "grandma", shop.shop_id) == 3000
    assert my_coupon_states(api, shop.grandma) == {shop.coupon: "available"}
    assert order_count(session_factory) == 0


class TestUnlinkedStoreIsRefused:
    def test_quote_reserve_wallet_and_coupons(self, api, session_factory, shop):
        quote = {"shopper_id": "grandma", "lines": LINES, "use_credit": 1000}
        calls = [
            api.post("/v1/store/checkout/quote", json=quote, headers=shop.store),
            api.post(
                "/v1/store/checkout/reserve", json=reserve_body(shop, "o-1"), headers=shop.store
            ),
            api.get("/v1/store/shoppers/grandma/wallet", headers=shop.store),
            api.get("/v1/store/shoppers/grandma/coupons", headers=shop.store),
        ]
        assert [(r.status_code, error_code(r)) for r in calls] == [(403, "shopper_not_linked")] * 4
        assert_nothing_moved(api, session_factory, shop)

    def test_a_shopper_it_never_saw(self, api, shop):
        quote = {"shopper_id": "nobody-at-all", "lines": LINES}
        refused = api.post("/v1/store/checkout/quote", json=quote, headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (403, "shopper_not_linked")

    def test_another_shops_link_does_not_count(self, api, session_factory, shop):
        other_store = shop_key(session_factory, "Other Shop", role="store")
        other_shop = exchange(api, other_store, issue_code(api, shop.grandma, shop.shop_id))
        assert error_code(other_shop) == "link_code_invalid"  # the code was for this shop
        wallet = api.get("/v1/store/shoppers/grandma/wallet", headers=other_store)
        assert (wallet.status_code, error_code(wallet)) == (403, "shopper_not_linked")


class TestLinkedStore:
    def test_reads_wallet_and_the_shops_coupons(self, api, shop):
        link(api, shop)
        wallet = api.get("/v1/store/shoppers/grandma/wallet", headers=shop.store)
        assert wallet.json() == {"shopper_id": "grandma", "shop_id": shop.shop_id, "balance": 3000}
        coupons = api.get("/v1/store/shoppers/grandma/coupons", headers=shop.store).json()
        assert [(c["id"], c["state"]) for c in coupons["coupons"]] == [(shop.coupon, "available")]

    def test_the_shopper_lists_the_link(self, api, shop):
        link(api, shop)
        links = api.get("/v1/store-links", headers=shop.grandma).json()["links"]
        assert [(x["shop_id"], x["shop_name"]) for x in links] == [(shop.shop_id, "Test Shop")]
        assert api.get("/v1/store-links", headers=login(api, "grandpa")).json() == {"links": []}


class TestLinkCodes:
    def test_single_use(self, api, shop):
        code = issue_code(api, shop.grandma, shop.shop_id)
        first = exchange(api, shop.store, code)
        assert first.status_code == 200 and first.json()["shopper_id"] == "grandma"
        again = exchange(api, shop.store, code)
        assert (again.status_code, error_code(again)) == (400, "link_code_invalid")

    def test_expired(self, api, session_factory, shop):
        code = issue_code(api, shop.grandma, shop.shop_id)
        with unit_of_work(session_factory) as session:
            session.execute(update(LinkCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        late = exchange(api, shop.store, code)
        assert (late.status_code, error_code(late)) == (410, "link_code_expired")
        refused = api.get("/v1/store/shoppers/grandma/wallet", headers=shop.store)
        assert error_code(refused) == "shopper_not_linked"

    def test_expires_after_the_setting(self, api, settings, shop):
        answer = api.post("/v1/store-links", json={"shop_id": shop.shop_id}, headers=shop.grandma)
        issued = answer.json()
        assert issued["code"].startswith("ksl_") and issued["shop_id"] == shop.shop_id
        expires_in = (datetime.fromisoformat(issued["expires_at"]) - utcnow()).total_seconds()
        assert settings.store_link_code_ttl_seconds - 30 < expires_in <= 300

    def test_unknown_code_and_unknown_shop(self, api, shop):
        unknown = exchange(api, shop.store, "ksl_not-a-code")
        assert (unknown.status_code, error_code(unknown)) == (400, "link_code_invalid")
        no_shop = api.post("/v1/store-links", json={"shop_id": "shop_nope"}, headers=shop.grandma)
        assert (no_shop.status_code, error_code(no_shop)) == (404, "not_found")

    def test_only_stored_hashed(self, api, session_factory, shop):
        code = issue_code(api, shop.grandma, shop.shop_id)
        with unit_of_work(session_factory) as session:
            stored = session.scalars(select(LinkCode.code_hash)).all()
        assert len(stored) == 1 and code not in stored[0]

    @pytest.mark.slow
    def test_racing_exchanges_give_one_shopper_id(self, api, live_server, shop):
        code = issue_code(api, shop.grandma, shop.shop_id)
        calls = [("POST", "/v1/store/links", shop.store, {"code": code})] * 8
        answers = race(live_server.url, calls)
        assert sorted(r.status_code for r in answers) == [200] + [400] * 7, [
            r.text for r in answers
        ]


class TestUnlink:
    def test_unlink_stops_the_store(self, api, session_factory, shop):
        link(api, shop)
        gone = api.delete(f"/v1/store-links/{shop.shop_id}", headers=shop.grandma)
        assert gone.status_code == 204
        quote = {"shopper_id": "grandma", "lines": LINES}
        refused = api.post("/v1/store/checkout/quote", json=quote, headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (403, "shopper_not_linked")
        reserve = api.post(
            "/v1/store/checkout/reserve", json=reserve_body(shop, "o-1"), headers=shop.store
        )
        assert error_code(reserve) == "shopper_not_linked"
        assert_nothing_moved(api, session_factory, shop)
        assert api.get("/v1/store-links", headers=shop.grandma).json() == {"links": []}
        again = api.delete(f"/v1/store-links/{shop.shop_id}", headers=shop.grandma)
        assert (again.status_code, error_code(again)) == (404, "not_found")

    def test_a_reserved_order_cannot_be_paid_after_unlink_but_can_be_cancelled(
        self, api, session_factory, shop
    ):
        link(api, shop)
        reserved = api.post(
            "/v1/store/checkout/reserve", json=reserve_body(shop, "o-1"), headers=shop.store
        )
        assert reserved.status_code == 200, reserved.text
        api.delete(f"/v1/store-links/{shop.shop_id}", headers=shop.grandma)
        paid = api.post("/v1/store/orders/o-1/paid", json={}, headers=shop.store)
        assert (paid.status_code, error_code(paid)) == (403, "shopper_not_linked")
        order = api.get("/v1/store/orders/o-1", headers=shop.store).json()
        assert order["status"] == "reserved"  # nothing moved: coupon and credit still held
        assert my_coupon_states(api, shop.grandma) == {shop.coupon: "reserved"}
        assert wallet_of(session_factory, "grandma", shop.shop_id) == 2000
        cancelled = api.post("/v1/store/orders/o-1/cancel", headers=shop.store)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert_nothing_moved_but_the_order(api, session_factory, shop)

    def test_a_paid_order_can_still_be_refunded_after_unlink(self, api, session_factory, shop):
        link(api, shop)
        api.post("/v1/store/checkout/reserve", json=reserve_body(shop, "o-1"), headers=shop.store)
        assert api.post("/v1/store/orders/o-1/paid", headers=shop.store).status_code == 200
        api.delete(f"/v1/store-links/{shop.shop_id}", headers=shop.grandma)
        refunded = api.post("/v1/store/orders/o-1/refund", json={}, headers=shop.store)
        assert refunded.status_code == 200, refunded.text
        assert refunded.json()["credit_returned"] == 1000
        assert wallet_of(session_factory, "grandma", shop.shop_id) == 3000

    def test_codes_issued_before_the_unlink_die_with_it(self, api, shop):
        link(api, shop)
        waiting = issue_code(api, shop.grandma, shop.shop_id)
        api.delete(f"/v1/store-links/{shop.shop_id}", headers=shop.grandma)
        assert error_code(exchange(api, shop.store, waiting)) == "link_code_invalid"

    def test_linking_again_works(self, api, shop):
        link(api, shop)
        api.delete(f"/v1/store-links/{shop.shop_id}", headers=shop.grandma)
        link(api, shop)
        wallet = api.get("/v1/store/shoppers/grandma/wallet", headers=shop.store)
        assert wallet.status_code == 200 and wallet.json()["balance"] == 3000


def assert_nothing_moved_but_the_order(api, session_factory, shop: Shop) -> None:
    assert wallet_of(session_factory, "grandma", shop.shop_id) == 3000
    assert my_coupon_states(api, shop.grandma) == {shop.coupon: "available"}
