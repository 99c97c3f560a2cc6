"""Webhook URLs may only lead to public addresses (no SSRF), checked at registration and again at
each delivery after DNS resolution; `webhook_allow_private_urls` lifts it for demos and tests."""

from datetime import timedelta
from ipaddress import ip_address

import pytest
from sqlalchemy import select

from kinsave.auth import service as auth
from kinsave.db import unit_of_work, utcnow
from kinsave.jobs import deliver_webhooks
from kinsave.webhooks import destination
from kinsave.webhooks import service as webhooks
from kinsave.webhooks.models import WebhookDelivery, WebhookEndpoint
from kinsave.webhooks.schemas import WebhookEndpointIn
from tests.factories import error_code, shop_key
from tests.webhooks.receiver import Receiver

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (CGNAT)
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:a9fe:a9fe",  # 169.254.169.254, mapped
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    "ff02::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::808:808"]
# Spellings that getaddrinfo turns into 127.0.0.1 without any DNS server.
LOOPBACK_SPELLINGS = ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://localhost/"]


class TestAddresses:
    @pytest.mark.parametrize("address", NOT_PUBLIC)
    def test_not_public(self, address):
        assert not destination.is_public(ip_address(address))

    @pytest.mark.parametrize("address", PUBLIC)
    def test_public(self, address):
        assert destination.is_public(ip_address(address))

    def test_literal_refusals_need_no_dns(self):
        assert destination.literal_refusal("http://[::1]:8000/hook") is not None
        assert destination.literal_refusal("https://10.0.0.5/hook") is not None
        assert destination.literal_refusal("http://shop.localhost/hook") is not None
        assert destination.literal_refusal("https://8.8.8.8/hook") is None
        assert destination.literal_refusal("https://hooks.example.com/x") is None

    def test_one_private_address_among_public_ones_is_refused(self):
        assert destination.first_refused("h", ["8.8.8.8", "10.0.0.1"]) is not None
        assert destination.first_refused("h", ["8.8.8.8", "2606:4700:4700::1111"]) is None


def _endpoints(session_factory) -> list[str]:
    with unit_of_work(session_factory) as session:
        return list(session.execute(select(WebhookEndpoint.url)).scalars())


class TestRegistration:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:9/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data/",
            "https://10.0.0.5/hook",
            *LOOPBACK_SPELLINGS,
        ],
    )
    def test_private_destinations_are_refused(self, guarded, session_factory, url):
        response = guarded.post(
            "/v1/admin/webhooks", json={"url": url}, headers=shop_key(session_factory)
        )
        assert (response.status_code, error_code(response)) == (422, "webhook_url_not_public")
        assert _endpoints(session_factory) == []

    def test_a_public_address_and_an_unresolvable_name_are_accepted(self, guarded, session_factory):
        operator = shop_key(session_factory)
        for url in ("https://93.184.216.34/hook", "https://hooks.invalid/hook"):
            response = guarded.post("/v1/admin/webhooks", json={"url": url}, headers=operator)
            assert response.status_code == 201, response.text
        assert len(_endpoints(session_factory)) == 2

    def test_the_setting_allows_private_destinations(self, api, session_factory):
        operator = shop_key(session_factory)
        response = api.post(
            "/v1/admin/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=operator
        )
        assert response.status_code == 201, response.text


class TestDelivery:
    def test_a_private_address_is_refused_after_resolution(self, settings, session_factory):
        """Registered while allowed (or while its name resolved elsewhere): the sender resolves
        `localhost` itself, refuses it, and the receiver hears nothing."""
        receiver = Receiver()
        try:
            port = receiver.server.server_address[1]
            with unit_of_work(session_factory) as session:
                shop_id = auth.ensure_shop(session, "Hook Shop").id
                data = WebhookEndpointIn(url=f"http://localhost:{port}/kinsave/webhooks")
                created = webhooks.create_endpoint(session, shop_id, data, allow_private_urls=True)
                receiver.secret = created.secret
                webhooks.enqueue(session, shop_id, "order.paid", {"order_id": "o-1"})
            strict = settings.model_copy(update={"webhook_allow_private_urls": False})
            report = deliver_webhooks(session_factory, strict)
            assert (report.sent, report.delivered) == (1, 0)
            assert receiver.received == []
            with unit_of_work(session_factory) as session:
                delivery = session.execute(select(WebhookDelivery)).scalar_one()
            assert delivery.status == "pending" and delivery.attempts == 1
            assert delivery.last_error is not None and "not a public address" in delivery.last_error
            # Allowed, the same delivery goes to the address the sender resolved and checked.
            assert (
                deliver_webhooks(session_factory, settings, utcnow() + timedelta(days=1)).delivered
                == 1
            )
            assert receiver.received[0]["headers"]["Host"] == f"localhost:{port}"
            assert receiver.received[0]["verified"]
        finally:
            receiver.server.shutdown()
