"""EVERY /v1/admin route, enumerated from app.routes (not a sample), refuses another shop's objects.

For each route, the operator of shop "Mine" calls it with the ids of shop "Theirs": a route
with an object id in its path answers 403/404/422 and Theirs' objects are unchanged; a route
whose path names no object of another shop (listings, the shop's own channel policies) never
shows one of Theirs' ids. A route merged later with a path parameter this test does not know
fails the test until its parameter is added to the `theirs` fixture.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute

from kinsave.app import create_app
from kinsave.db import unit_of_work
from kinsave.webhooks import service as webhooks
from tests.coupons.factories import create_template, push_products
from tests.factories import login, shop_key
from tests.sharing.factories import share, shop_with_campaign

# Parameters that name the caller's own shop-scoped settings, not another shop's object.
OWN_SETTINGS = {"channel", "action"}
BODIES: dict[str, Any] = {
    "status": {"status": "paused"},
    "budget": {"amount": 100},
    "credits": {"shopper_id": "alice", "amount": 1},
    "envelopes": {"total": 100, "shares": 2},
    "help-offers": {"helpers_needed": 2, "hours": 2, "reward": 10},
    "sharing": {},
    "policy": {},
    "channels": {"channel": "mine-only"},
    "webhooks": {"url": "https://example.com/hook"},
}


def _flatten(routes: list[Any]) -> list[APIRoute]:
    """app.routes, with routers included by FastAPI >= 0.16x (wrapped) opened up."""
    flat: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            flat.append(route)
        elif hasattr(route, "original_router"):
            # Included without a prefix in app.py, so the inner paths are the real ones.
            assert not getattr(route.include_context, "prefix", ""), "prefix not handled"
            flat += _flatten(route.original_router.routes)
    return flat


def admin_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in _flatten(create_app().routes)
        if route.path.startswith("/v1/admin")
        for method in route.methods
    )


@pytest.fixture
def theirs(api, session_factory) -> dict[str, Any]:
    shop_id, campaign_id = shop_with_campaign(session_factory, shop="Theirs")
    key = shop_key(session_factory, shop="Theirs")
    login(api, "alice")
    envelope = api.post(
        f"/v1/admin/campaigns/{campaign_id}/envelopes",
        json={"total": 100, "shares": 2},
        headers=key,
    ).json()
    endpoint = api.post(
        "/v1/admin/webhooks", json={"url": "https://theirs.example/hook"}, headers=key
    ).json()
    with unit_of_work(session_factory) as session:
        webhooks.enqueue(session, shop_id, "test.event", {"x": 1})
    delivery = api.get("/v1/admin/webhooks/deliveries", headers=key).json()["deliveries"][0]
    code = share(session_factory, "alice", campaign_id, datetime.now(UTC))
    store = shop_key(session_factory, shop="Theirs", role="store")
    push_products(
        api, store, [{"sku": "theirs-only-sku", "title": "Rice", "price": 5900, "category": "rice"}]
    )
    template = create_template(api, key)
    terms = {"sku": "theirs-only-sku", "group_price": 3990, "group_size": 2, "units": 10}
    deal = api.post("/v1/admin/group-deals", json=terms, headers=key).json()
    return {
        "key": key,
        "ids": {
            "campaign_id": campaign_id,
            "envelope_id": envelope["id"],
            "endpoint_id": endpoint["id"],
            "delivery_id": str(delivery["id"]),
            "code": code,
            "channel": "web",
            "template_id": template["id"],
            "action": "pause",
            "sku": "theirs-only-sku",
            "deal_id": deal["id"],
        },
    }


def _snapshot(api, key) -> list[str]:
    reads = [path for method, path in admin_routes() if method == "GET" and "{" not in path]
    return [api.get(path, headers=key).text for path in reads]


def _body(path: str) -> Any:
    last = [part for part in path.split("/") if part and "{" not in part][-1]
    return BODIES.get(last)


@pytest.mark.slow
def test_every_admin_route_refuses_another_shops_objects(api, session_factory, theirs):
    mine = shop_key(session_factory, shop="Mine")
    ids = theirs["ids"]
    before = _snapshot(api, theirs["key"])
    leaks = []
    # Rotating revokes the calling key: do it last.
    for method, template in sorted(admin_routes(), key=lambda r: r[1].endswith("/rotate")):
        params = [p.strip("{}") for p in template.split("/") if p.startswith("{")]
        unknown = [p for p in params if p not in ids]
        assert not unknown, f"{method} {template}: add {unknown} to the `theirs` fixture"
        path = template.format(**ids)
        response = api.request(method, path, json=_body(template), headers=mine)
        assert response.status_code < 500, (method, template, response.text)
        names_theirs = [p for p in params if p not in OWN_SETTINGS]
        if names_theirs and response.status_code not in (403, 404, 422):
            leaks.append((method, template, response.status_code, response.text[:200]))
        # Short numeric ids (deliveries) would match any number: test_delivery_ids_stay_apart.
        shown = [
            v
            for k, v in ids.items()
            if len(v) >= 8 and k not in OWN_SETTINGS and v in response.text
        ]
        if shown and not names_theirs:
            leaks.append((method, template, "shows", shown))
    assert not leaks, leaks
    assert _snapshot(api, theirs["key"]) == before
    assert len(admin_routes()) >= 20


def test_delivery_ids_stay_apart(api, session_factory, theirs):
    mine = shop_key(session_factory, shop="Mine")
    assert api.get("/v1/admin/webhooks/deliveries", headers=mine).json()["deliveries"] == []
