"""The demo store verifies kinsave's webhook signatures with a replay window, and shows the
events it accepted on the shopper's orders page."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from kinsave_demo_store import create_store
from kinsave_demo_store.webhook_signature import (
    REPLAY_WINDOW_SECONDS,
    SignatureRefused,
    verify_signature,
)
from starlette.routing import Mount

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.demo import connect_store_webhook
from kinsave.webhooks import service as webhooks
from kinsave.webhooks import signing
from kinsave.webhooks.delivery import deliver_due
from kinsave.webhooks.schemas import WebhookEndpointIn
from tests.conftest import LiveServer
from tests.web.test_demo_store import signed_in_as

SECRET = "whsec_test_secret"
HOOK = "/webhooks/kinsave"


def event_body(event_id: str = "evt_1", shopper: str = "grandson") -> bytes:
    data = {"order_id": "ord_1", "shopper_id": shopper, "total_to_pay": 3600}
    payload = {"id": event_id, "event": "order.paid", "created_at": "2026-01-01T00:00:00Z"}
    return json.dumps({**payload, "data": data}).encode()


def signed_headers(body: bytes, *, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    """Exactly what kinsave's sender puts on a delivery, signed by kinsave's own signing code."""
    timestamp = int(time.time() if at is None else at)
    return {
        "Content-Type": "application/json",
        signing.HEADER: signing.sign(secret, timestamp, body),
        "Kinsave-Event": "order.paid",
        "Kinsave-Event-Id": "evt_1",
        "Kinsave-Delivery-Id": "41",
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TestClient]:
    app = create_store(
        "http://127.0.0.1:9", "ks_store_test", orders_path=tmp_path / "s.db", webhook_secret=SECRET
    )
    with TestClient(app) as client:
        yield client


def events_shown(store: TestClient, shopper: str = "grandson") -> int:
    store.cookies.set("store_shopper", signed_in_as(shopper))
    return store.get("/orders").text.count("<tr data-event=")


class TestSignature:
    """The store's own verifier (it does not import kinsave) against kinsave's signer."""

    def test_kinsave_signature_verifies(self):
        body = event_body()
        header = signing.sign(SECRET, 1_700_000_000, body)
        assert verify_signature(SECRET, header, body, now=1_700_000_010).timestamp == 1_700_000_000

    @pytest.mark.parametrize(
        "tamper",
        [
            lambda h, b: (h, b + b" "),  # one byte more in the body
            lambda h, b: (h.replace("t=1700000000", "t=1700000001"), b),  # a moved timestamp
            lambda h, b: (signing.sign("whsec_other", 1_700_000_000, b), b),  # another secret
            lambda h, b: ("t=1700000000", b),  # no signature
            lambda h, b: ("v1=" + h.split("v1=")[1], b),  # no timestamp
            lambda h, b: ("", b),
            lambda h, b: ("t=abc,v1=zz,,==", b),
        ],
    )
    def test_anything_else_is_bad_signature(self, tamper):
        body = event_body()
        header, sent = tamper(signing.sign(SECRET, 1_700_000_000, body), body)
        with pytest.raises(SignatureRefused) as refused:
            verify_signature(SECRET, header, sent, now=1_700_000_000)
        assert refused.value.code == "bad_signature"

    @pytest.mark.parametrize("offset", [REPLAY_WINDOW_SECONDS + 1, -(REPLAY_WINDOW_SECONDS + 1)])
    def test_outside_the_window_is_stale(self, offset):
        body = event_body()
        header = signing.sign(SECRET, 1_700_000_000, body)
        with pytest.raises(SignatureRefused) as refused:
            verify_signature(SECRET, header, body, now=1_700_000_000 + offset)
        assert refused.value.code == "stale_timestamp"

    def test_one_matching_entry_of_several_is_enough_and_is_the_one_kept(self):
        body = event_body()
        good = signing.sign(SECRET, 1_700_000_000, body).split("v1=")[1]
        header = f"t=1700000000,v1={'0' * 64},v1={good}"
        assert verify_signature(SECRET, header, body, now=1_700_000_000).signatures == (good,)


class TestWebhookEndpoint:
    def test_a_valid_delivery_is_recorded_and_shown_to_its_shopper(self, store):
        body = event_body()
        answer = store.post(HOOK, content=body, headers=signed_headers(body))
        assert answer.status_code == 200 and answer.json()["status"] == "recorded"
        store.cookies.set("store_shopper", signed_in_as("grandson"))
        page = store.get("/orders").text
        assert '<tr data-event="evt_1"><td class="event">order.paid</td><td>ord_1</td>' in page
        assert events_shown(store, "someone_else") == 0

    def test_a_bad_signature_is_refused_and_nothing_recorded(self, store):
        body = event_body()
        forged = signed_headers(body, secret="whsec_guess")
        answer = store.post(HOOK, content=body, headers=forged)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "bad_signature"
        tampered = store.post(
            HOOK, content=event_body(shopper="thief"), headers=signed_headers(body)
        )
        assert tampered.json()["error"]["code"] == "bad_signature"
        assert events_shown(store) == 0 and events_shown(store, "thief") == 0

    def test_a_stale_timestamp_is_refused_and_nothing_recorded(self, store):
        body = event_body()
        old = signed_headers(body, at=time.time() - REPLAY_WINDOW_SECONDS - 60)
        answer = store.post(HOOK, content=body, headers=old)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "stale_timestamp"
        assert events_shown(store) == 0

    def test_a_replayed_request_is_refused(self, store):
        body = event_body()
        captured = signed_headers(body)
        assert store.post(HOOK, content=body, headers=captured).status_code == 200
        again = store.post(HOOK, content=body, headers=captured)
        assert again.status_code == 409 and again.json()["error"]["code"] == "replayed"
        assert events_shown(store) == 1

    def test_kinsave_redelivering_an_event_is_acknowledged_once(self, store):
        """At-least-once delivery: a retry is signed afresh; the store says yes, records once."""
        body = event_body()
        first = store.post(HOOK, content=body, headers=signed_headers(body, at=time.time() - 30))
        retry = store.post(HOOK, content=body, headers=signed_headers(body))
        assert first.json()["status"] == "recorded" and retry.status_code == 200
        assert retry.json()["status"] == "duplicate"
        assert events_shown(store) == 1

    def test_a_signed_body_that_is_not_an_event_is_refused(self, store):
        body = b'{"hello": "world"}'
        answer = store.post(HOOK, content=body, headers=signed_headers(body))
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_payload"

    def test_without_a_secret_the_endpoint_is_off(self, tmp_path):
        app = create_store("http://127.0.0.1:9", "k", orders_path=tmp_path / "s.db")
        with TestClient(app) as client:
            body = event_body()
            answer = client.post(HOOK, content=body, headers=signed_headers(body))
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "webhooks_off"


def mounted_store(server: LiveServer) -> Any:
    return next(r.app for r in server.app.routes if isinstance(r, Mount) and r.path == "/store")


def test_kinsave_delivers_to_the_demo_store_end_to_end(settings, api, session_factory, tmp_path):
    """kinsave's real sender signs an order.paid to the mounted store, which verifies it."""
    enabled = settings.model_copy(
        update={
            "demo_store": True,
            "demo_store_key": "ks_store_demo",
            "demo_store_orders_path": str(tmp_path / "store.db"),
        }
    )
    server = LiveServer(enabled)
    with unit_of_work(session_factory) as session:
        shop = auth.ensure_shop(session, "Harvest Family Market")
        url = server.url + "/store" + HOOK
        created = webhooks.create_endpoint(
            session, shop.id, WebhookEndpointIn(url=url), allow_private_urls=True
        )
        payload = {"order_id": "ord_e2e", "shopper_id": "grandson", "total_to_pay": 100}
        webhooks.enqueue(session, shop.id, "order.paid", payload)
    # The secret exists only once kinsave made the endpoint, which needed the server's port.
    mounted_store(server).state.parts.webhook_secret = created.secret
    server.start()
    try:
        report = deliver_due(session_factory, settings)
        assert (report.sent, report.delivered) == (1, 1)
        with httpx.Client(
            base_url=server.url,
            cookies={"store_shopper": signed_in_as("grandson", "ks_store_demo")},
        ) as client:
            page = client.get("/store/orders").text
        assert '<td class="event">order.paid</td><td>ord_e2e</td>' in page
    finally:
        server.stop()


def test_each_demo_run_replaces_the_store_endpoint(session_factory):
    """`kinsave demo` makes a fresh secret each run; the old endpoint (whose secret the new store
    process no longer holds) stops, so deliveries never go out signed with a forgotten secret."""
    url = "http://127.0.0.1:8000/store/webhooks/kinsave"
    with unit_of_work(session_factory) as session:
        shop = auth.ensure_shop(session, "Harvest Family Market")
        first = connect_store_webhook(session, shop.id, url)
        second = connect_store_webhook(session, shop.id, url)
        endpoints = webhooks.list_endpoints(session, shop.id).endpoints
    assert first != second
    assert [e.url for e in endpoints] == [url]
