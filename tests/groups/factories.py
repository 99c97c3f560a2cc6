"""Typed helpers for group deal tests: a shop with rice, deals, starts and joins."""

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work
from kinsave.webhooks.models import WebhookDelivery
from tests.coupons.factories import RICE_PRODUCTS, push_products
from tests.factories import Headers, shop_key, store_shop_id


@dataclass
class Shop:
    operator: Headers
    store: Headers
    shop_id: str


def make_shop(api: httpx.Client, session_factory: sessionmaker[Session]) -> Shop:
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    push_products(api, store, RICE_PRODUCTS)
    response = api.post(
        "/v1/admin/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": ["group.succeeded", "group.failed"]},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return Shop(operator, store, store_shop_id(session_factory, store))


def create_deal(api: httpx.Client, shop: Shop, **terms: Any) -> dict[str, Any]:
    body = {"sku": "rice-5kg", "group_price": 3990, "group_size": 3, "units": 30, **terms}
    response = api.post("/v1/admin/group-deals", json=body, headers=shop.operator)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def start(api: httpx.Client, shopper: Headers, deal_id: str, **headers: str) -> httpx.Response:
    return api.post(f"/v1/group-deals/{deal_id}/groups", headers={**shopper, **headers})


def join(api: httpx.Client, shopper: Headers, group_id: str, **headers: str) -> httpx.Response:
    return api.post(f"/v1/groups/{group_id}/join", headers={**shopper, **headers})


def started(api: httpx.Client, shopper: Headers, deal_id: str) -> dict[str, Any]:
    response = start(api, shopper, deal_id)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def webhook_events(session_factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(session_factory) as session:
        return list(
            session.execute(select(WebhookDelivery.event).order_by(WebhookDelivery.id)).scalars()
        )
