"""Typed helpers for store-link tests: a shop with a store key and a funded shopper."""

from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from tests.coupons.factories import RICE_PRODUCTS, claim, create_template, push_products
from tests.factories import Headers, create_campaign, funded_shopper, shop_key

LINES = [{"sku": "rice-5kg", "quantity": 2, "unit_price": 5900}]


@dataclass
class Shop:
    operator: Headers
    store: Headers
    shop_id: str
    grandma: Headers  # signed in, ¥30 credit, one "¥20 off" coupon
    coupon: str


def shop_with_grandma(api: httpx.Client, session_factory: sessionmaker[Session]) -> Shop:
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    push_products(api, store, RICE_PRODUCTS)
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 3000)
    coupon = claim(api, grandma, create_template(api, operator)["id"])["id"]
    return Shop(operator, store, campaign["shop_id"], grandma, coupon)


def issue_code(api: httpx.Client, shopper: Headers, shop_id: str) -> str:
    response = api.post("/v1/store-links", json={"shop_id": shop_id}, headers=shopper)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def exchange(api: httpx.Client, store: Headers, code: str) -> httpx.Response:
    return api.post("/v1/store/links", json={"code": code}, headers=store)


def link(api: httpx.Client, shop: Shop) -> None:
    linked = exchange(api, shop.store, issue_code(api, shop.grandma, shop.shop_id))
    assert linked.status_code == 200, linked.text


def wallet_of(session_factory: sessionmaker[Session], shopper_id: str, shop_id: str) -> int:
    with unit_of_work(session_factory) as session:
        return ledger.wallet_balance(session, shopper_id, shop_id)


def reserve_body(shop: Shop, order_id: str, **extra: object) -> dict[str, object]:
    return {
        "order_id": order_id,
        "shopper_id": "grandma",
        "lines": LINES,
        "coupons": [shop.coupon],
        "use_credit": 1000,
        **extra,
    }
