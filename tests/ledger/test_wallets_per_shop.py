"""Store credit is per shop: credit shop X issued is spendable only at X's checkout.

Two shops, each with its own campaign, operator and store; a shopper holding credit of both.
Every refusal asserts that nothing moved (the teardown's reconcile covers the ledger as a whole).
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from tests.coupons.factories import RICE_PRODUCTS, push_products
from tests.factories import (
    Headers,
    create_campaign,
    error_code,
    give_credit,
    link_shopper,
    login,
    shop_key,
    wallet_balance,
)

RICE = [{"sku": "rice-5kg", "quantity": 1, "unit_price": 5900}]


@dataclass
class Shop:
    shop_id: str
    name: str
    operator: Headers
    store: Headers
    campaign_id: str


def open_shop(api: httpx.Client, session_factory, name: str) -> Shop:
    operator = shop_key(session_factory, name)
    store = shop_key(session_factory, name, role="store")
    push_products(api, store, RICE_PRODUCTS)
    campaign = create_campaign(api, operator)
    link_shopper(session_factory, campaign["shop_id"], "grandma")  # her stores may act for her
    return Shop(campaign["shop_id"], name, operator, store, campaign["id"])


@pytest.fixture
def market(api, session_factory) -> Shop:
    return open_shop(api, session_factory, "Harvest Market")


@pytest.fixture
def bakery(api, session_factory) -> Shop:
    return open_shop(api, session_factory, "Corner Bakery")


def balances(api: httpx.Client, shopper: Headers) -> dict[str, int]:
    response = api.get("/v1/wallet", headers=shopper)
    assert response.status_code == 200, response.text
    return {b["shop_id"]: b["balance"] for b in response.json()["balances"]}


def reserve(api: httpx.Client, shop: Shop, order_id: str, use_credit: int) -> httpx.Response:
    body = {"order_id": order_id, "shopper_id": "grandma", "lines": RICE, "use_credit": use_credit}
    return api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)


class TestWallet:
    def test_the_wallet_shows_a_balance_per_shop_with_its_name(self, api, market, bakery):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 300)
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 500)
        body = api.get("/v1/wallet", headers=grandma).json()
        assert body["shopper_id"] == "grandma"
        assert sorted((b["shop_name"], b["balance"]) for b in body["balances"]) == [
            ("Corner Bakery", 500),
            ("Harvest Market", 300),
        ]
        assert "balance" not in body  # no total: one shop's credit is no good at another

    def test_history_can_be_read_for_one_shop(self, api, market, bakery):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 300)
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 500)
        everything = api.get("/v1/wallet/history", headers=grandma).json()["entries"]
        assert sorted((e["shop_id"], e["amount"]) for e in everything) == sorted(
            [(market.shop_id, 300), (bakery.shop_id, 500)]
        )
        only = api.get(
            "/v1/wallet/history", params={"shop_id": bakery.shop_id}, headers=grandma
        ).json()["entries"]
        assert [(e["shop_id"], e["amount"]) for e in only] == [(bakery.shop_id, 500)]


class TestCheckoutSpendsOnlyItsShopsCredit:
    def test_another_shops_credit_is_not_in_the_quote(self, api, market, bakery):
        login(api, "grandma")
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 2000)
        body = {"shopper_id": "grandma", "lines": RICE, "use_credit": 2000}
        at_market = api.post("/v1/store/checkout/quote", json=body, headers=market.store).json()
        assert (at_market["wallet_balance"], at_market["credit"]) == (0, 0)
        at_bakery = api.post("/v1/store/checkout/quote", json=body, headers=bakery.store).json()
        assert (at_bakery["wallet_balance"], at_bakery["credit"]) == (2000, 2000)

    def test_a_cross_shop_spend_is_refused_and_moves_nothing(
        self, api, market, bakery, session_factory
    ):
        grandma = login(api, "grandma")
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 2000)
        refused = reserve(api, market, "o-1", use_credit=1000)
        assert refused.status_code in (409, 422), refused.text
        assert error_code(refused) in ("insufficient_funds", "invalid_amount")
        assert api.get("/v1/store/orders/o-1", headers=market.store).status_code == 404
        assert balances(api, grandma) == {bakery.shop_id: 2000}
        with unit_of_work(session_factory) as session:
            report = ledger.reconcile(session)
        assert report.transfers == 3  # two campaigns funded, one grant: nothing else

    def test_credit_spent_at_its_shop_is_redeemed_by_that_shop(
        self, api, market, bakery, session_factory
    ):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 700)
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 2000)
        assert reserve(api, market, "o-1", use_credit=700).status_code == 200
        paid = api.post("/v1/store/orders/o-1/paid", json={}, headers=market.store)
        assert paid.status_code == 200, paid.text
        assert balances(api, grandma) == {market.shop_id: 0, bakery.shop_id: 2000}
        with unit_of_work(session_factory) as session:
            market_redeemed = ledger.balance_of(
                session, AccountKind.SHOP_REDEEMED, market.shop_id, market.shop_id
            )
            bakery_redeemed = ledger.balance_of(
                session, AccountKind.SHOP_REDEEMED, bakery.shop_id, bakery.shop_id
            )
        assert (market_redeemed, bakery_redeemed) == (700, 0)

    @pytest.mark.slow
    def test_concurrent_reserves_of_one_wallet_never_overdraw(
        self, api, market, bakery, live_server, session_factory
    ):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 1000)
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 5000)

        def spend(n: int) -> int:
            with httpx.Client(base_url=live_server.url, timeout=120) as client:
                return reserve(client, market, f"o-{n}", use_credit=300).status_code  # type: ignore[arg-type]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(spend, range(10)))
        assert statuses.count(200) == 3, statuses  # 3 x 300 fit in 1000; a 4th does not
        assert set(statuses) <= {200, 409, 422}
        assert balances(api, grandma) == {market.shop_id: 100, bakery.shop_id: 5000}


class TestLuckyEnvelopesKeepTheirShop:
    def test_an_envelope_of_a_shops_credit_lands_as_that_shops_credit(self, api, market, bakery):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 300)
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 1000)
        body = {"total": 1000, "shares": 2, "kind": "equal", "shop_id": bakery.shop_id}
        sent = api.post("/v1/envelopes", json=body, headers=grandma)
        assert sent.status_code == 201, sent.text
        assert sent.json()["shop_id"] == bakery.shop_id
        mum = login(api, "mum")
        grabbed = api.post(f"/v1/envelopes/{sent.json()['id']}/grab", headers=mum)
        assert grabbed.status_code == 200, grabbed.text
        assert balances(api, mum) == {bakery.shop_id: 500}
        assert balances(api, grandma) == {market.shop_id: 300, bakery.shop_id: 0}

    def test_a_sender_with_several_shops_credit_must_say_which(self, api, market, bakery):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 300)
        give_credit(api, bakery.operator, bakery.campaign_id, "grandma", 1000)
        body = {"total": 200, "shares": 2}
        refused = api.post("/v1/envelopes", json=body, headers=grandma)
        assert (refused.status_code, error_code(refused)) == (422, "invalid_request")
        too_much = api.post(
            "/v1/envelopes", json={**body, "total": 400, "shop_id": market.shop_id}, headers=grandma
        )
        assert error_code(too_much) == "insufficient_funds"  # 300 at the market, whatever else
        assert balances(api, grandma) == {market.shop_id: 300, bakery.shop_id: 1000}

    def test_a_sender_with_one_shops_credit_needs_not_say(self, api, market):
        grandma = login(api, "grandma")
        give_credit(api, market.operator, market.campaign_id, "grandma", 300)
        sent = api.post("/v1/envelopes", json={"total": 200, "shares": 2}, headers=grandma)
        assert sent.status_code == 201, sent.text
        assert sent.json()["shop_id"] == market.shop_id
        assert wallet_balance(api, grandma) == 100
