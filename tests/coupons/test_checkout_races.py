"""Checkout races through the real HTTP server: one coupon, one credit, many concurrent stores."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from tests.coupons.factories import RICE_PRODUCTS, claim, create_template, push_products
from tests.factories import create_campaign, funded_shopper, link_shopper, shop_key

LINES = [{"sku": "rice-5kg", "quantity": 2, "unit_price": 5900}]


@pytest.mark.slow
class TestReserveRace:
    def test_one_coupon_one_order(self, api, session_factory, live_server):
        operator = shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        push_products(api, store, RICE_PRODUCTS)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 1000)
        coupon = claim(api, grandma, create_template(api, operator)["id"])["id"]
        link_shopper(session_factory, campaign["shop_id"], "grandma")

        def reserve(n: int) -> tuple[int, str]:
            # Orders 0-3 share one order id (a retried request); the rest are distinct orders.
            order_id = "same" if n < 4 else f"o-{n}"
            body = {
                "order_id": order_id,
                "shopper_id": "grandma",
                "lines": LINES,
                "coupons": [coupon],
                "use_credit": 1000,
            }
            with httpx.Client(base_url=live_server.url, timeout=120) as client:
                response = client.post("/v1/store/checkout/reserve", json=body, headers=store)
            code = "ok" if response.status_code == 200 else response.json()["error"]["code"]
            return response.status_code, f"{order_id}:{code}"

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(reserve, range(12)))

        winners = {outcome.split(":")[0] for status, outcome in results if status == 200}
        assert len(winners) == 1, results
        assert {o.split(":")[1] for s, o in results if s != 200} <= {
            "coupon_reserved",
            "insufficient_funds",
            "conflict",
        }
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "grandma", campaign["shop_id"]) == 0
