"""Every store action on a shopper's money (reserve, paid, cancel, refund) is in the shop's audit
log, with the store key that did it, written in the action's own transaction."""

import json

from kinsave.db import unit_of_work
from kinsave.security.models import AuditEntry
from tests.factories import error_code
from tests.storelinks.factories import link, reserve_body, shop_with_grandma


def store_entries(api, operator) -> list[dict]:
    page = api.get("/v1/admin/audit?limit=100", headers=operator).json()
    return [e for e in reversed(page["entries"]) if e["action"].startswith("store.")]


def test_reserve_paid_cancel_refund_each_with_the_store_key(api, session_factory):
    shop = shop_with_grandma(api, session_factory)
    link(api, shop)
    prefix = shop.store["Authorization"].removeprefix("Bearer ")[: len("ks_store_") + 4]
    first = reserve_body(shop, "o-1")
    assert api.post("/v1/store/checkout/reserve", json=first, headers=shop.store).is_success
    assert api.post("/v1/store/orders/o-1/paid", headers=shop.store).is_success
    assert api.post("/v1/store/orders/o-1/refund", json={}, headers=shop.store).is_success
    second = reserve_body(shop, "o-2", coupons=[], use_credit=500)
    assert api.post("/v1/store/checkout/reserve", json=second, headers=shop.store).is_success
    assert api.post("/v1/store/orders/o-2/cancel", headers=shop.store).is_success

    entries = store_entries(api, shop.operator)
    assert [(e["action"], json.loads(e["target"])["order_id"]) for e in entries] == [
        ("store.reserve", "o-1"),
        ("store.paid", "o-1"),
        ("store.refund", "o-1"),
        ("store.reserve", "o-2"),
        ("store.cancel", "o-2"),
    ]
    assert {json.loads(e["target"])["shopper_id"] for e in entries} == {"grandma"}
    assert {e["actor"] for e in entries} == {prefix}  # the key's shown prefix, not the key
    assert json.loads(entries[0]["details"])["credit"] == 1000


def test_a_refused_action_leaves_no_entry(api, session_factory):
    shop = shop_with_grandma(api, session_factory)  # not linked: the reserve is refused
    refused = api.post(
        "/v1/store/checkout/reserve", json=reserve_body(shop, "o-1"), headers=shop.store
    )
    assert error_code(refused) == "shopper_not_linked"
    with unit_of_work(session_factory) as session:
        assert session.query(AuditEntry).filter(AuditEntry.action.like("store.%")).count() == 0
