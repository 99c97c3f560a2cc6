"""The store's checkout API: quote, reserve, paid, refund, cancel, expire, with the ledger."""

import json
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import update

from kinsave.coupons.allocation import units_share
from kinsave.coupons.models import CheckoutOrder, Coupon
from kinsave.db import unit_of_work, utcnow
from kinsave.jobs import release_expired_reservations
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from tests.coupons.factories import (
    RICE_PRODUCTS,
    claim,
    create_template,
    error_code,
    my_coupon_states,
    push_products,
)
from tests.factories import (
    Headers,
    create_campaign,
    funded_shopper,
    link_shopper,
    shop_key,
    wallet_balance,
)
from tests.test_cli import kinsave

CART = {
    "shopper_id": "grandma",
    "lines": [
        {"sku": "rice-5kg", "quantity": 2, "unit_price": 5900},
        {"sku": "oil-1l", "quantity": 3, "unit_price": 2000},
    ],
    "shipping_fee": 800,
}


@dataclass
class Shop:
    store: Headers
    grandma: Headers
    threshold: str  # grandma's "¥20 off ¥99" rice coupon
    shipping: str  # grandma's free-shipping coupon
    shop_id: str


@pytest.fixture
def shop(api, session_factory) -> Shop:
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    push_products(api, store, RICE_PRODUCTS)
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 3000)
    threshold = create_template(
        api,
        operator,
        name="¥20 off ¥99",
        kind="threshold",
        amount=2000,
        threshold=9900,
        scope={"categories": ["rice"]},
    )
    shipping = create_template(
        api, operator, name="Free shipping", kind="free_shipping", stacking_group="shipping"
    )
    link_shopper(session_factory, threshold["shop_id"], "grandma")
    return Shop(
        store,
        grandma,
        claim(api, grandma, threshold["id"])["id"],
        claim(api, grandma, shipping["id"])["id"],
        threshold["shop_id"],
    )


def balances(session_factory, shop: Shop, order_id: str) -> tuple[int, int, int]:
    """(wallet, credit held for the order, credit redeemed by the shop)."""
    with unit_of_work(session_factory) as session:
        return (
            ledger.wallet_balance(session, "grandma", shop.shop_id),
            ledger.balance_of(
                session, AccountKind.CREDIT_HOLD, f"{shop.shop_id}:{order_id}", shop.shop_id
            ),
            ledger.balance_of(session, AccountKind.SHOP_REDEEMED, shop.shop_id, shop.shop_id),
        )


def reserve_body(api, shop: Shop, order_id: str, **extra):
    quote = api.post(
        "/v1/store/checkout/quote", json={**CART, "use_credit": 1000}, headers=shop.store
    )
    assert quote.status_code == 200, quote.text
    body = {
        **CART,
        "order_id": order_id,
        "coupons": quote.json()["coupons"],
        "use_credit": quote.json()["credit"],
        **extra,
    }
    return body


def reserve(api, shop: Shop, order_id: str, **extra):
    body = reserve_body(api, shop, order_id, **extra)
    return api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)


class TestQuote:
    def test_best_combination_per_line(self, api, shop):
        quote = api.post(
            "/v1/store/checkout/quote", json={**CART, "use_credit": 1000}, headers=shop.store
        )
        body = quote.json()
        assert sorted(body["coupons"]) == sorted([shop.threshold, shop.shipping])
        assert (body["discount"], body["credit"]) == (2800, 1000)
        assert body["total_to_pay"] == 17800 + 800 - 2800 - 1000
        assert body["lines"][0]["coupon_discounts"] == {shop.threshold: 2000}
        assert all(e["used"] for e in body["explanations"])

    def test_unlock_hint(self, api, shop):
        small = {**CART, "lines": [{"sku": "rice-5kg", "quantity": 1, "unit_price": 8700}]}
        body = api.post("/v1/store/checkout/quote", json=small, headers=shop.store).json()
        assert body["hint"] == "add ¥12 more of rice to use ¥20 off ¥99"


class TestQuoteBodyRefused:
    """The route validates its body itself (api.json_body): FastAPI's refusals, same codes."""

    QUOTE = "/v1/store/checkout/quote"

    def test_money_out_of_range_is_invalid_amount(self, api, shop):
        line = {"sku": "rice-5kg", "quantity": 1, "unit_price": -1}
        answer = api.post(self.QUOTE, json={**CART, "lines": [line]}, headers=shop.store)
        assert (answer.status_code, error_code(answer)) == (422, "invalid_amount")
        fields = answer.json()["error"]["details"]["fields"]
        assert fields[0]["loc"] == ["body", "lines", "0", "unit_price"]

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (b'{"shopper_id": "grandma", "lines": [', "application/json"),  # malformed
            (b"", "application/json"),  # no body
            (b'{"shopper_id": "grandma"}', "application/json"),  # no lines
            (b"shopper_id=grandma", "application/x-www-form-urlencoded"),  # not JSON
        ],
    )
    def test_malformed_or_missing_is_invalid_request(self, api, shop, content, content_type):
        headers = {**shop.store, "Content-Type": content_type}
        answer = api.post(self.QUOTE, content=content, headers=headers)
        assert (answer.status_code, error_code(answer)) == (422, "invalid_request")
        assert answer.json()["error"]["details"]["fields"][0]["loc"][0] == "body"

    def test_without_content_type_it_is_not_read_as_json(self, api, shop):
        """As FastAPI (strict_content_type): a body must say it is JSON."""
        headers = {k: v for k, v in shop.store.items() if k.lower() != "content-type"}
        answer = api.post(self.QUOTE, content=json.dumps(CART).encode(), headers=headers)
        assert (answer.status_code, error_code(answer)) == (422, "invalid_request")
        assert api.post(self.QUOTE, json=CART, headers=shop.store).status_code == 200


class TestReservePaidRefund:
    def test_round_trip_with_exact_partial_refund(self, api, shop, session_factory):
        reserved = reserve(api, shop, "o-1")
        assert reserved.status_code == 200, reserved.text
        order = reserved.json()
        assert balances(session_factory, shop, "o-1") == (2000, 1000, 0)
        states = my_coupon_states(api, shop.grandma)
        assert {states[shop.threshold], states[shop.shipping]} == {"reserved"}

        paid = api.post(
            "/v1/store/orders/o-1/paid", json={"attribution": "share:abc"}, headers=shop.store
        )
        assert paid.json()["status"] == "paid" and paid.json()["attribution"] == "share:abc"
        assert balances(session_factory, shop, "o-1") == (2000, 0, 1000)
        assert set(my_coupon_states(api, shop.grandma).values()) == {"used"}

        rice = order["lines"][0]
        partial = api.post(
            "/v1/store/orders/o-1/refund",
            json={"refund_id": "r1", "lines": [{"sku": "rice-5kg", "quantity": 1}]},
            headers=shop.store,
        ).json()
        discount = units_share(rice["discount"], 2, 0, 1)
        credit = units_share(rice["credit"], 2, 0, 1)
        assert (partial["amount"], partial["credit_returned"]) == (5900 - discount - credit, credit)
        assert partial["order_status"] == "partially_refunded" and partial["coupons_restored"] == []
        assert wallet_balance(api, shop.grandma) == 2000 + credit

        rest = api.post(
            "/v1/store/orders/o-1/refund", json={"refund_id": "r2"}, headers=shop.store
        ).json()
        assert rest["order_status"] == "refunded"
        assert partial["amount"] + rest["amount"] == order["total_to_pay"]
        assert partial["credit_returned"] + rest["credit_returned"] == 1000
        assert sorted(rest["coupons_restored"]) == sorted([shop.threshold, shop.shipping])
        assert balances(session_factory, shop, "o-1") == (3000, 0, 0)
        assert set(my_coupon_states(api, shop.grandma).values()) == {"available"}

    def test_retries_move_nothing_twice(self, api, shop, session_factory):
        body = reserve_body(api, shop, "o-2")
        first = api.post("/v1/store/checkout/reserve", json=body, headers=shop.store).json()
        again = api.post("/v1/store/checkout/reserve", json=body, headers=shop.store).json()
        assert again == first
        assert balances(session_factory, shop, "o-2") == (2000, 1000, 0)
        for _ in range(2):
            assert (
                api.post("/v1/store/orders/o-2/paid", headers=shop.store).json()["status"] == "paid"
            )
        refund = {"lines": [{"sku": "oil-1l", "quantity": 1}]}
        one = api.post("/v1/store/orders/o-2/refund", json=refund, headers=shop.store).json()
        two = api.post("/v1/store/orders/o-2/refund", json=refund, headers=shop.store).json()
        assert one == two
        assert balances(session_factory, shop, "o-2")[2] == 1000 - one["credit_returned"]

    def test_a_replay_answers_the_order_as_it_is_whatever_its_coupons(
        self, api, shop, session_factory
    ):
        # The reserve looks for an earlier order only once the new one is refused or its id is
        # taken: a paid order's coupons are used, an order without coupons passes every check.
        reserve_path = "/v1/store/checkout/reserve"
        body = reserve_body(api, shop, "o-again")
        api.post(reserve_path, json=body, headers=shop.store)
        paid = api.post("/v1/store/orders/o-again/paid", headers=shop.store).json()
        again = api.post(reserve_path, json=body, headers=shop.store)
        assert again.status_code == 200 and again.json() == paid
        plain = {**body, "order_id": "o-plain", "coupons": [], "use_credit": 500}
        first = api.post(reserve_path, json=plain, headers=shop.store).json()
        second = api.post(reserve_path, json=plain, headers=shop.store)
        assert second.status_code == 200 and second.json() == first
        assert balances(session_factory, shop, "o-plain") == (1500, 500, 1000)
        other = api.post(reserve_path, json={**plain, "use_credit": 400}, headers=shop.store)
        assert (other.status_code, error_code(other)) == (409, "order_state_invalid")
        assert balances(session_factory, shop, "o-plain") == (1500, 500, 1000)


class TestCancelAndExpire:
    def test_cancel_releases_once(self, api, shop, session_factory):
        reserve(api, shop, "o-3")
        for _ in range(2):
            cancelled = api.post("/v1/store/orders/o-3/cancel", headers=shop.store)
            assert cancelled.json()["status"] == "cancelled"
        assert balances(session_factory, shop, "o-3") == (3000, 0, 0)
        assert set(my_coupon_states(api, shop.grandma).values()) == {"available"}
        refused = api.post("/v1/store/orders/o-3/paid", headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (409, "order_state_invalid")

    def test_two_sweepers_release_exactly_once(self, api, shop, session_factory):
        reserve(api, shop, "o-4")
        later = utcnow() + timedelta(hours=1)
        counts: list[int] = []
        sweepers = [
            threading.Thread(
                target=lambda: counts.append(
                    release_expired_reservations(session_factory, later).released
                )
            )
            for _ in range(2)
        ]
        for sweeper in sweepers:
            sweeper.start()
        for sweeper in sweepers:
            sweeper.join()
        assert sorted(counts) == [0, 1]
        assert balances(session_factory, shop, "o-4") == (3000, 0, 0)
        assert set(my_coupon_states(api, shop.grandma).values()) == {"available"}
        order = api.get("/v1/store/orders/o-4", headers=shop.store).json()
        assert order["status"] == "expired"
        refused = api.post("/v1/store/orders/o-4/paid", headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (410, "order_expired")

    def test_paid_after_hold_ran_out_is_refused(self, api, shop, session_factory):
        reserve(api, shop, "o-5")
        with unit_of_work(session_factory) as session:
            session.execute(
                update(CheckoutOrder).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        refused = api.post("/v1/store/orders/o-5/paid", headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (410, "order_expired")
        assert balances(session_factory, shop, "o-5") == (2000, 1000, 0)
        assert release_expired_reservations(session_factory).released == 1

    def test_kinsave_expire_releases(self, api, shop, session_factory, database_url):
        reserve(api, shop, "o-8")
        with unit_of_work(session_factory) as session:
            session.execute(
                update(CheckoutOrder).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        result = kinsave(database_url, "expire")
        assert "released 1 expired checkout reservations" in result.stdout, result.stderr
        assert balances(session_factory, shop, "o-8") == (3000, 0, 0)


class TestRefusals:
    """Each refusal leaves the wallet, the holds and the coupons as they were."""

    def assert_untouched(self, api, shop, session_factory, order_id: str) -> None:
        assert balances(session_factory, shop, order_id) == (3000, 0, 0)
        assert set(my_coupon_states(api, shop.grandma).values()) == {"available"}

    def test_coupon_not_applicable(self, api, shop, session_factory):
        small = {**CART, "lines": [{"sku": "rice-5kg", "quantity": 1, "unit_price": 5900}]}
        body = {**small, "order_id": "x", "coupons": [shop.threshold], "use_credit": 500}
        refused = api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (422, "coupon_not_applicable")
        self.assert_untouched(api, shop, session_factory, "x")

    def test_coupon_reserved_by_another_order(self, api, shop, session_factory):
        reserve(api, shop, "first")
        refused = reserve(api, shop, "second", coupons=[shop.threshold], use_credit=0)
        assert (refused.status_code, error_code(refused)) == (409, "coupon_reserved")
        assert balances(session_factory, shop, "second") == (2000, 0, 0)

    def test_coupon_used(self, api, shop, session_factory):
        reserve(api, shop, "first")
        api.post("/v1/store/orders/first/paid", headers=shop.store)
        refused = reserve(api, shop, "second", coupons=[shop.threshold], use_credit=0)
        assert (refused.status_code, error_code(refused)) == (409, "coupon_used")

    def test_coupon_expired(self, api, shop, session_factory):
        with unit_of_work(session_factory) as session:
            session.execute(
                update(Coupon)
                .where(Coupon.id == shop.threshold)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        refused = reserve(api, shop, "x", coupons=[shop.threshold], use_credit=0)
        assert (refused.status_code, error_code(refused)) == (410, "coupon_expired")
        assert balances(session_factory, shop, "x") == (3000, 0, 0)
        assert my_coupon_states(api, shop.grandma)[shop.threshold] == "expired"

    def test_order_id_reused_with_another_body(self, api, shop, session_factory):
        reserve(api, shop, "o-6")
        refused = reserve(api, shop, "o-6", use_credit=10)
        assert (refused.status_code, error_code(refused)) == (409, "order_state_invalid")
        assert balances(session_factory, shop, "o-6") == (2000, 1000, 0)

    def test_order_not_found(self, api, shop):
        for action in ("paid", "cancel", "refund"):
            refused = api.post(f"/v1/store/orders/nope/{action}", headers=shop.store)
            assert (refused.status_code, error_code(refused)) == (404, "order_not_found")

    def test_credit_beyond_wallet_or_order(self, api, shop, session_factory):
        too_much = reserve(api, shop, "x", use_credit=5000, coupons=[])
        assert (too_much.status_code, error_code(too_much)) == (409, "insufficient_funds")
        tiny = {
            "shopper_id": "grandma",
            "lines": [{"sku": "oil-1l", "quantity": 1, "unit_price": 100}],
        }
        beyond = api.post(
            "/v1/store/checkout/reserve",
            json={**tiny, "order_id": "y", "use_credit": 101},
            headers=shop.store,
        )
        assert (beyond.status_code, error_code(beyond)) == (422, "invalid_amount")
        self.assert_untouched(api, shop, session_factory, "x")

    def test_refund_before_payment_and_over_quantity(self, api, shop, session_factory):
        reserve(api, shop, "o-7")
        early = api.post("/v1/store/orders/o-7/refund", headers=shop.store)
        assert (early.status_code, error_code(early)) == (409, "order_state_invalid")
        api.post("/v1/store/orders/o-7/paid", headers=shop.store)
        over = api.post(
            "/v1/store/orders/o-7/refund",
            json={"lines": [{"sku": "oil-1l", "quantity": 4}]},
            headers=shop.store,
        )
        assert over.status_code == 422
        assert balances(session_factory, shop, "o-7") == (2000, 0, 1000)
