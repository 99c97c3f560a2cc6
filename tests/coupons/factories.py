"""Typed helpers for coupon and checkout tests: templates, claims, store calls."""

from typing import Any

import httpx

from tests.factories import Headers

RICE_PRODUCTS = [
    {"sku": "rice-5kg", "title": "Rice 5 kg", "price": 5900, "category": "rice"},
    {"sku": "rice-10kg", "title": "Rice 10 kg", "price": 10900, "category": "rice"},
    {"sku": "oil-1l", "title": "Peanut oil 1 L", "price": 2000, "category": "oil"},
]


def push_products(api: httpx.Client, store: Headers, products: list[dict[str, Any]]) -> None:
    response = api.put("/v1/store/products", json={"products": products}, headers=store)
    assert response.status_code == 200, response.text


def create_template(api: httpx.Client, operator: Headers, **terms: Any) -> dict[str, Any]:
    body = {
        "name": "¥20 off",
        "kind": "amount_off",
        "amount": 2000,
        "stock": 100,
        "per_shopper_limit": 1,
        "valid_days": 7,
        "stacking_group": "shop",
        "scope": {},
        **terms,
    }
    response = api.post("/v1/admin/coupon-templates", json=body, headers=operator)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def claim(api: httpx.Client, shopper: Headers, template_id: str) -> dict[str, Any]:
    response = api.post("/v1/coupons/claim", json={"template_id": template_id}, headers=shopper)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def my_coupon_states(api: httpx.Client, shopper: Headers) -> dict[str, str]:
    response = api.get("/v1/coupons", headers=shopper)
    assert response.status_code == 200, response.text
    return {c["id"]: c["state"] for c in response.json()["coupons"]}
