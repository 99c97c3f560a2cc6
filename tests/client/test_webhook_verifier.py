"""kinsave.client.verify_webhook accepts a webhook kinsave really delivered, as received (headers
and raw body), and refuses it tampered with, re-signed with another secret, or too old."""

import base64
import time
from collections.abc import Iterator

import pytest

from kinsave.auth import service as auth
from kinsave.client import SignatureRefused, verify_webhook
from kinsave.db import unit_of_work
from kinsave.jobs import deliver_webhooks
from kinsave.webhooks import service as webhooks
from tests.factories import shop_key
from tests.webhooks.receiver import Receiver


@pytest.fixture
def delivered(api, session_factory, settings) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(secret, headers, body) of one order.paid webhook kinsave delivered."""
    receiver = Receiver()
    operator = shop_key(session_factory)
    endpoint = api.post("/v1/admin/webhooks", json={"url": receiver.url}, headers=operator)
    assert endpoint.status_code == 201, endpoint.text
    with unit_of_work(session_factory) as session:
        shop_id = auth.find_shop(session, "Test Shop").id  # shop_key's default shop
        webhooks.enqueue(session, shop_id, "order.paid", {"order_id": "o-w1"})
    assert deliver_webhooks(session_factory, settings).delivered == 1
    [delivery] = receiver.received
    headers, body = delivery["headers"], delivery["raw"]
    yield endpoint.json()["secret"], headers, body
    receiver.server.shutdown()


def test_a_delivered_webhook_verifies(delivered):
    secret, headers, body = delivered
    verified = verify_webhook(secret, headers, body)
    assert verified.event.event == "order.paid"
    assert verified.event.data == {"order_id": "o-w1"}
    assert verified.event.id == headers["Kinsave-Event-Id"]
    assert verified.delivery_id == headers["Kinsave-Delivery-Id"]
    lowercase = {name.lower(): value for name, value in headers.items()}
    assert verify_webhook(secret, lowercase, body).event == verified.event


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"o-w1", b"o-w2")),  # another order
        lambda h, b: (h, b + b" "),  # one byte more
        lambda h, b: ({k: v for k, v in h.items() if k != "Kinsave-Signature"}, b),  # unsigned
    ],
)
def test_a_tampered_webhook_is_refused(delivered, tamper):
    secret, headers, body = delivered
    with pytest.raises(SignatureRefused) as refused:
        verify_webhook(secret, *tamper(headers, body))
    assert refused.value.code == "bad_signature"


def test_another_secret_or_a_late_replay_is_refused(delivered):
    secret, headers, body = delivered
    with pytest.raises(SignatureRefused) as refused:
        verify_webhook("whsec_someone_else", headers, body)
    assert refused.value.code == "bad_signature"
    with pytest.raises(SignatureRefused) as refused:
        verify_webhook(secret, headers, body, now=time.time() + 3600)
    assert refused.value.code == "stale_timestamp"


def test_the_standard_webhooks_library_verifies_a_delivery(delivered):
    """A store in another language verifies with its Standard Webhooks library, given the secret
    as `whsec_` + base64 of its bytes (Python's takes the bytes themselves)."""
    standardwebhooks = pytest.importorskip("standardwebhooks")
    secret, headers, body = delivered
    assert headers["webhook-id"] == headers["Kinsave-Event-Id"]
    as_base64 = "whsec_" + base64.b64encode(secret.encode()).decode()
    for key in (secret.encode(), as_base64):
        assert standardwebhooks.Webhook(key).verify(body, headers)["data"] == {"order_id": "o-w1"}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret.encode()).verify(body + b" ", headers)
