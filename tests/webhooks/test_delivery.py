"""Webhooks end to end: endpoints over HTTP, the outbox, and delivery to a real local receiver."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kinsave.db import unit_of_work, utcnow
from kinsave.jobs import deliver_webhooks
from kinsave.webhooks import delivery
from kinsave.webhooks import service as webhooks
from kinsave.webhooks.models import WebhookDelivery
from tests.factories import shop_key
from tests.webhooks.receiver import Receiver


@pytest.fixture
def hook_settings(settings):
    return settings.model_copy(
        update={
            "webhook_retry_base_seconds": 10.0,
            "webhook_max_attempts": 3,
            "webhook_timeout_seconds": 2.0,
        }
    )


def _register(api, operator, receiver: Receiver, events: list[str] | None = None) -> str:
    body: dict[str, Any] = {"url": receiver.url}
    if events:
        body["events"] = events
    response = api.post("/v1/admin/webhooks", json=body, headers=operator)
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    endpoint_id: str = response.json()["id"]
    return endpoint_id


def _shop_id(api, operator) -> str:
    response = api.post("/v1/admin/campaigns", json={"name": "x", "budget": 0}, headers=operator)
    shop_id: str = response.json()["shop_id"]
    return shop_id


def _enqueue(session_factory, shop_id: str, event: str = "order.paid", **data: Any) -> None:
    with unit_of_work(session_factory) as session:
        webhooks.enqueue(session, shop_id, event, {"order_id": "o-1", **data})


def _log(api, operator) -> list[dict[str, Any]]:
    response = api.get("/v1/admin/webhooks/deliveries", headers=operator)
    assert response.status_code == 200, response.text
    deliveries: list[dict[str, Any]] = response.json()["deliveries"]
    return deliveries


class TestEndpoints:
    def test_secret_shown_once_and_shop_isolation(self, api, session_factory, receiver):
        operator = shop_key(session_factory)
        endpoint_id = _register(api, operator, receiver)
        listed = api.get("/v1/admin/webhooks", headers=operator).json()["endpoints"]
        assert [e["id"] for e in listed] == [endpoint_id]
        assert "secret" not in listed[0]
        other = shop_key(session_factory, shop="Other Shop")
        assert api.get("/v1/admin/webhooks", headers=other).json()["endpoints"] == []
        assert api.delete(f"/v1/admin/webhooks/{endpoint_id}", headers=other).status_code == 404
        assert api.delete(f"/v1/admin/webhooks/{endpoint_id}", headers=operator).status_code == 204
        assert api.get("/v1/admin/webhooks", headers=operator).json()["endpoints"] == []

    def test_refuses_non_http_urls(self, api, session_factory):
        response = api.post(
            "/v1/admin/webhooks",
            json={"url": "file:///etc/passwd"},
            headers=shop_key(session_factory),
        )
        assert response.status_code == 422


class TestOutbox:
    def test_rollback_writes_no_outbox_row(self, api, session_factory, receiver, hook_settings):
        operator = shop_key(session_factory)
        _register(api, operator, receiver)
        shop_id = _shop_id(api, operator)
        with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
            webhooks.enqueue(session, shop_id, "order.paid", {"order_id": "o-1"})
            raise RuntimeError("the change this event reports failed")
        with unit_of_work(session_factory) as session:
            assert session.execute(select(func.count(WebhookDelivery.id))).scalar_one() == 0
        assert deliver_webhooks(session_factory, hook_settings).sent == 0
        assert receiver.received == []

    def test_only_subscribed_endpoints_get_a_row(self, api, session_factory, receiver):
        operator = shop_key(session_factory)
        _register(api, operator, receiver, events=["order.refunded"])
        _enqueue(session_factory, _shop_id(api, operator), "order.paid")
        assert _log(api, operator) == []


class TestDelivery:
    def test_signed_delivery_verified_by_the_receiver(
        self, api, session_factory, receiver, hook_settings
    ):
        operator = shop_key(session_factory)
        _register(api, operator, receiver)
        _enqueue(session_factory, _shop_id(api, operator), amount=3900)
        report = deliver_webhooks(session_factory, hook_settings)
        assert (report.sent, report.delivered) == (1, 1)
        [got] = receiver.received
        assert got["verified"]
        assert got["body"]["event"] == "order.paid"
        assert got["body"]["data"] == {"order_id": "o-1", "amount": 3900}
        assert got["headers"]["Kinsave-Event-Id"] == got["body"]["id"]
        [logged] = _log(api, operator)
        assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
            "delivered",
            1,
            200,
        )
        assert deliver_webhooks(session_factory, hook_settings).sent == 0

    def test_500_then_retry_with_backoff(self, api, session_factory, receiver, hook_settings):
        operator = shop_key(session_factory)
        _register(api, operator, receiver)
        _enqueue(session_factory, _shop_id(api, operator))
        receiver.statuses = [500]
        now = utcnow()
        assert deliver_webhooks(session_factory, hook_settings, now).retrying == 1
        [logged] = _log(api, operator)
        assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
            "pending",
            1,
            500,
        )
        assert (
            deliver_webhooks(session_factory, hook_settings, now + timedelta(seconds=9)).sent == 0
        )
        later = deliver_webhooks(session_factory, hook_settings, now + timedelta(seconds=10))
        assert later.delivered == 1
        assert [r["verified"] for r in receiver.received] == [True, True]
        assert len({r["body"]["id"] for r in receiver.received}) == 1

    def test_gives_up_after_max_attempts_then_operator_resends(
        self, api, session_factory, receiver, hook_settings
    ):
        operator = shop_key(session_factory)
        _register(api, operator, receiver)
        _enqueue(session_factory, _shop_id(api, operator))
        receiver.statuses = [500, 502, 503]
        now = utcnow()
        for delay in (0, 10, 30):  # base 10 s: waits of 10 s then 20 s
            deliver_webhooks(session_factory, hook_settings, now + timedelta(seconds=delay))
        [failed] = _log(api, operator)
        assert (failed["status"], failed["attempts"]) == ("failed", 3)
        assert deliver_webhooks(session_factory, hook_settings, now + timedelta(days=1)).sent == 0
        resent = api.post(f"/v1/admin/webhooks/deliveries/{failed['id']}/resend", headers=operator)
        assert resent.status_code == 201, resent.text
        assert resent.json()["resent_from"] == failed["id"]
        assert deliver_webhooks(session_factory, hook_settings).delivered == 1
        assert receiver.received[-1]["body"]["id"] == failed["event_id"]
        other = shop_key(session_factory, shop="Other Shop")
        response = api.post(f"/v1/admin/webhooks/deliveries/{failed['id']}/resend", headers=other)
        assert response.status_code == 404

    def test_two_senders_never_send_the_same_attempt(
        self, api, session_factory, receiver, hook_settings
    ):
        operator = shop_key(session_factory)
        _register(api, operator, receiver)
        shop_id = _shop_id(api, operator)
        for n in range(12):
            _enqueue(session_factory, shop_id, order_id=f"o-{n}")
        receiver.delay = 0.02
        senders = [
            threading.Thread(
                target=delivery.deliver_due,
                args=(session_factory, hook_settings),
                kwargs={"batch": 2},  # small batches so that the two senders interleave
            )
            for _ in range(2)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        ids = [r["headers"]["Kinsave-Delivery-Id"] for r in receiver.received]
        assert len(ids) == 12
        assert len(set(ids)) == 12
        assert {d["status"] for d in _log(api, operator)} == {"delivered"}
