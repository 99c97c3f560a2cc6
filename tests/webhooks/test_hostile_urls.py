"""Hostile webhook URLs: every one is a 422 with a stable code, never a 500 or a reset connection.

`destination.check_url` is total: whatever the text, it passes or raises KinsaveError
(`webhook_url_invalid`, `webhook_url_not_public`). Numeric hosts that parsers read differently
(`0177.0.0.1` is 127.0.0.1 to inet_aton, 177.0.0.1 elsewhere) are never sent to.
"""

from ipaddress import ip_address

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.jobs import deliver_webhooks
from kinsave.webhooks import destination
from kinsave.webhooks import service as webhooks
from kinsave.webhooks.models import WebhookDelivery, WebhookEndpoint
from kinsave.webhooks.schemas import WebhookEndpointIn
from tests.factories import error_code, shop_key
from tests.webhooks.test_destination import _endpoints

INVALID = "webhook_url_invalid"
NOT_PUBLIC = "webhook_url_not_public"
STABLE_CODES = {INVALID, NOT_PUBLIC, "invalid_request"}

HOSTILE: list[tuple[str, str]] = [
    # Numeric spellings of an IPv4 address
    ("http://0177.0.0.1/", INVALID),
    ("http://0177.1/", NOT_PUBLIC),
    ("http://0x7f000001/", NOT_PUBLIC),
    ("http://017700000001/", NOT_PUBLIC),
    ("http://010.0.0.1/", INVALID),  # 8.0.0.1 to inet_aton, 10.0.0.1 to others
    ("http://0x08.0.0.1/", INVALID),  # public to inet_aton, ambiguous all the same
    ("http://08.0.0.1/", INVALID),
    ("http://1.2.3.4.5/", INVALID),
    ("http://256.0.0.1/", INVALID),
    ("http://1.2.3.4294967296/", INVALID),
    ("http://0/", NOT_PUBLIC),
    ("http://127.0.0.1./", NOT_PUBLIC),
    # Control characters, spaces, backslashes
    ("http://127.0.0.1\t/", INVALID),
    ("http://127.0.0.1\n/", INVALID),
    ("http://127.0.0.1\r\n/", INVALID),
    ("http://exa mple.com/", INVALID),
    ("http://\x00/", INVALID),
    ("http://exa\x00mple.com/", INVALID),
    ("http://ex\u200bample.com/", INVALID),  # zero-width space
    ("http://example.com\\@127.0.0.1/", INVALID),
    # Brackets
    ("http://[::1", INVALID),
    ("http://::1]/", INVALID),
    ("http://[::1]]/", INVALID),
    ("http://[[::1]]/", INVALID),
    ("http://[not-an-ip]/", INVALID),
    ("http://[127.0.0.1]/", INVALID),
    ("http://[fe80::1%25eth0]/", INVALID),
    ("http://[::ffff:7f00:1]/", NOT_PUBLIC),
    ("http://[::]/", NOT_PUBLIC),
    # Full-width and other compatibility characters, IDNA
    ("http://１２７.０.０.１/", INVALID),
    ("http://ｅｘａｍｐｌｅ.com/", INVALID),
    ("http://ｌｏｃａｌｈｏｓｔ/", INVALID),
    ("http://127。0。0。1/", NOT_PUBLIC),  # an ideographic full stop is a dot to IDNA
    ("http://xn--/", INVALID),
    ("http://xn--a/", INVALID),
    ("http://xn--zz-zzzzz.com/", INVALID),
    # Lengths and label syntax
    ("http://" + "a" * 300 + ".com/", INVALID),
    ("http://" + "a" * 64 + ".com/", INVALID),
    ("http://" + "a." * 130 + "com/", INVALID),
    ("http://a..b/", INVALID),
    ("http://./", INVALID),
    ("http://-leading.example/", INVALID),
    ("http://ex_ample.com/", INVALID),
    ("http://%31%32%37.0.0.1/", INVALID),
    ("http://127.0.0.1%00.example.com/", INVALID),
    # Authority tricks and ports
    ("http:///path", INVALID),
    ("http://:80/", INVALID),
    ("http://hooks.example:99999/", INVALID),
    ("http://hooks.example:-1/", INVALID),
    ("http://hooks.example:abc/", INVALID),
    ("http://hooks.example:0/", INVALID),
    ("http://user:pass@127.0.0.1/", NOT_PUBLIC),
    ("http://example.com@127.0.0.1/", NOT_PUBLIC),
    ("http://127.0.0.1#@example.com/", NOT_PUBLIC),
    ("http://LOCALHOST./", NOT_PUBLIC),
    ("ftp://example.com/x", "invalid_request"),  # the schema's own check: http(s) only
]


class TestHostileUrlsThroughTheApi:
    def test_every_hostile_url_is_a_422_with_a_stable_code(self, guarded, session_factory):
        operator = shop_key(session_factory)
        answers = []
        for url, _ in HOSTILE:
            response = guarded.post("/v1/admin/webhooks", json={"url": url}, headers=operator)
            answers.append((url, response.status_code, error_code(response)))
        assert answers == [(url, 422, code) for url, code in HOSTILE]
        assert _endpoints(session_factory) == []

    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(url=st.one_of(st.text(max_size=60).map(lambda t: "http://" + t), st.from_regex(r"\A.*")))
    def test_generated_urls_never_get_a_5xx(self, api, session_factory, url):
        # The shared server allows private URLs: no DNS lookups for whatever passes.
        operator = shop_key(session_factory)
        response = api.post("/v1/admin/webhooks", json={"url": url}, headers=operator)
        assert response.status_code in (201, 422), response.text
        if response.status_code == 422:
            assert error_code(response) in STABLE_CODES


HOST_PARTS = st.sampled_from(
    [
        "a", "example", "com", "xn--", "xn--nxasmq6b", "0", "0x7f", "0177", "127", "255",
        "256", "4294967295", "08", "-", "_", "%31", "１", "ａ", "。", "．", "[", "]", ":", "::1",
        "@", "#", "\\", "\t", " ", "\x00", "\u200b", "例子", "ß", "İ", "a" * 64, "",
    ]
)  # fmt: skip
HOSTS = st.one_of(
    st.lists(HOST_PARTS, min_size=1, max_size=6).map(".".join),
    st.lists(HOST_PARTS, min_size=1, max_size=6).map("".join),
    st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
    st.text(max_size=40),
)
URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "http:/", ""]),
    HOSTS,
    st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=6)),
    st.one_of(st.just("/"), st.text(max_size=20)),
)


class TestCheckUrlIsTotal:
    @hypothesis_settings(max_examples=1500, deadline=None)
    @given(url=st.one_of(st.text(), URLS), allow_private=st.booleans())
    def test_passes_or_refuses_with_a_stable_code(self, url, allow_private):
        try:
            target = destination.check_url(url, allow_private_urls=allow_private)
        except KinsaveError as error:
            assert error.code in (INVALID, NOT_PUBLIC)
            return
        assert target.scheme in ("http", "https")
        host = target.raw_host.decode("ascii")
        if not allow_private and ":" in host:
            assert destination.is_public(ip_address(host))

    @pytest.mark.parametrize(("url", "code"), [h for h in HOSTILE if h[1] != "invalid_request"])
    def test_each_hostile_url_is_refused_with_its_code(self, url, code):
        with pytest.raises(KinsaveError) as refused:
            destination.check_url(url, allow_private_urls=False)
        assert refused.value.code == code

    @pytest.mark.parametrize(
        "url", ["http://0177.1/", "http://0x7f000001/", "http://0/", "http://127.1/"]
    )
    def test_ambiguous_numeric_hosts_are_refused_even_where_private_urls_are_allowed(self, url):
        with pytest.raises(KinsaveError) as refused:
            destination.check_url(url, allow_private_urls=True)
        assert refused.value.code == INVALID

    @pytest.mark.parametrize(
        "url",
        [
            "https://hooks.example.com/kinsave?x=1",
            "https://8.8.8.8/hook",
            "https://[2606:4700:4700::1111]:8443/hook",
            "https://例子.测试/hook",
            "https://xn--fsqu00a.xn--0zwm56d/hook",
            "http://hooks.example.com./hook",
            "https://shop.example/路径/hook",
        ],
    )
    def test_plain_public_urls_pass(self, url):
        destination.check_url(url, allow_private_urls=False)


class TestDeliveryOfAStoredHostileUrl:
    def test_the_sender_records_a_refusal_instead_of_crashing(self, settings, session_factory):
        """An endpoint stored before the checks were total: its delivery is refused and kept."""
        with unit_of_work(session_factory) as session:
            shop_id = auth.ensure_shop(session, "Hook Shop").id
            data = WebhookEndpointIn(url="https://hooks.example.com/x")
            created = webhooks.create_endpoint(session, shop_id, data)
            endpoint = session.get(WebhookEndpoint, created.id)
            assert endpoint is not None
            endpoint.url = "http://[::1"
            webhooks.enqueue(session, shop_id, "order.paid", {"order_id": "o-1"})
        report = deliver_webhooks(session_factory, settings)
        assert (report.sent, report.delivered) == (1, 0)
        with unit_of_work(session_factory) as session:
            delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.last_error is not None and delivery.last_error.startswith("refused:")
