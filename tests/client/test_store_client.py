"""kinsave.client against a live server: every store call, retries on 503 and connection errors
that never book twice, and refusals raised with their codes."""

from collections.abc import Iterator

import httpx
import pytest

from kinsave.client import (
    CartLine,
    KinsaveRefused,
    KinsaveStoreClient,
    LandingTemplates,
    ProductUpsert,
    Quote,
    RefundLine,
)
from tests.coupons.factories import RICE_PRODUCTS, claim, create_template
from tests.coupons.test_checkout import CART, Shop, balances
from tests.coupons.test_checkout import shop as shop  # noqa: F401 - the fixture
from tests.factories import login, shop_key

PRODUCTS = [ProductUpsert(**product) for product in RICE_PRODUCTS]
LINES = [CartLine(**line) for line in CART["lines"]]


class FlakyTransport(httpx.BaseTransport):
    """A real connection to the server that can lose answers: after `lose_after` forwards a
    request whose path ends so, the store gets a 503 instead of kinsave's answer (the work was
    done); before `refuse_before` forwards one, the store gets a connection error (nothing
    reached kinsave). Each fault happens once. Every request sent is kept in `sent`."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose_after: set[str] = set()
        self.refuse_before: set[str] = set()
        self.unavailable: set[str] = set()  # 503 without forwarding, every time
        self.sent: list[tuple[str, str, str | None]] = []

    def _fault(self, faults: set[str], path: str) -> bool:
        hit = next((suffix for suffix in faults if path.endswith(suffix)), None)
        if hit is not None:
            faults.discard(hit)
        return hit is not None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if any(path.endswith(suffix) for suffix in self.unavailable):
            self.sent.append((request.method, path, request.headers.get("Idempotency-Key")))
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "x"}})
        if self._fault(self.refuse_before, path):
            raise httpx.ConnectError("connection refused", request=request)
        self.sent.append((request.method, path, request.headers.get("Idempotency-Key")))
        response = self.inner.handle_request(request)
        if self._fault(self.lose_after, path):
            response.read()
            response.close()
            return httpx.Response(503, text="bad gateway had a bad day")
        return response

    def sent_to(self, suffix: str) -> list[tuple[str, str, str | None]]:
        return [call for call in self.sent if call[1].endswith(suffix)]


@pytest.fixture
def transport() -> FlakyTransport:
    return FlakyTransport()


@pytest.fixture
def client(live_server, shop: Shop, transport: FlakyTransport) -> Iterator[KinsaveStoreClient]:  # noqa: F811
    key = shop.store["Authorization"].removeprefix("Bearer ")
    http = httpx.Client(transport=transport, timeout=30)
    with KinsaveStoreClient(live_server.url, key, retry_wait=0.01, http=http) as kinsave:
        yield kinsave


def test_a_checkout_through_the_client(client, shop, session_factory):  # noqa: F811
    assert client.push_products(PRODUCTS).upserted == 3
    page = client.products(category="rice")
    assert {p.sku for p in page.products} == {"rice-5kg", "rice-10kg"}
    assert page.total == 2 and page.products[0].price in (5900, 10900)
    assert client.wallet("grandma").balance == 3000
    coupons = client.shopper_coupons("grandma").coupons
    assert len(coupons) == 2 and {c.state for c in coupons} == {"available"}
    quote = client.quote("grandma", LINES, shipping_fee=800, use_credit=1000)
    assert isinstance(quote, Quote) and quote.credit == 1000 and quote.lines[0].sku == "rice-5kg"
    reserved = client.reserve("o-c1", "grandma", LINES, quote)
    assert reserved.total_to_pay == quote.total_to_pay and reserved.status == "reserved"
    assert balances(session_factory, shop, "o-c1") == (2000, 1000, 0)
    assert client.paid("o-c1").status == "paid"
    assert client.order("o-c1").paid_at is not None
    refund = client.refund("o-c1", [RefundLine(sku="oil-1l", quantity=1)])
    assert refund.order_status == "partially_refunded" and refund.lines[0].sku == "oil-1l"
    assert client.refund("o-c1").order_status == "refunded"
    assert balances(session_factory, shop, "o-c1") == (3000, 0, 0)


def test_cancel_releases_what_the_reserve_held(client, shop, session_factory):  # noqa: F811
    quote = client.quote("grandma", LINES, shipping_fee=800, use_credit=1000)
    client.reserve("o-c2", "grandma", LINES, quote)
    assert client.cancel("o-c2").status == "cancelled"
    assert balances(session_factory, shop, "o-c2") == (3000, 0, 0)


def test_shares_land_resolve_and_count_visits(client, api, shop, live_server):  # noqa: F811
    client.push_products(PRODUCTS)
    template = "https://store.example/p/{id}?share={code}"
    landing = client.put_landing(LandingTemplates(product=template))
    assert landing.product == template and landing.updated_at is not None
    assert client.landing() == landing
    share = api.post(
        "/v1/shares",
        json={
            "target": {"type": "deal", "id": "rice-5kg"},
            "channel": "web",
            "shop_id": shop.shop_id,
        },
        headers=login(api, "mum"),
    )
    assert share.status_code == 201, share.text
    resolved = client.resolve_token(share.json()["text"], "grandma")
    assert (resolved.target.type, resolved.target.id) == ("deal", "rice-5kg")
    assert resolved.landing_url == f"https://store.example/p/rice-5kg?share={resolved.code}"
    visit = client.record_visit(resolved.attribution, "grandma")
    assert visit.share_code == share.json()["code"]
    request = client.link_request("https://store.example/signin/back", "state-1")
    assert request.authorize_url.startswith(live_server.url)
    assert request.expires_at.tzinfo is not None


def test_a_503_after_paid_is_retried_with_the_same_key_and_books_once(
    client,
    transport,
    shop,
    session_factory,  # noqa: F811
):
    quote = client.quote("grandma", LINES, shipping_fee=800, use_credit=1000)
    client.reserve("o-c3", "grandma", LINES, quote)
    transport.lose_after.add("/paid")  # kinsave booked it; the answer is lost on the way back
    assert client.paid("o-c3").status == "paid"
    sent = transport.sent_to("/paid")
    assert len(sent) == 2 and sent[0][2] == sent[1][2] == "paid:o-c3"
    assert balances(session_factory, shop, "o-c3") == (2000, 0, 1000)  # redeemed once


def test_a_lost_reserve_answer_holds_the_credit_once(client, transport, shop, session_factory):  # noqa: F811
    quote = client.quote("grandma", LINES, shipping_fee=800, use_credit=1000)
    transport.lose_after.add("/checkout/reserve")
    transport.refuse_before.add("/checkout/reserve")
    client.reserve("o-c4", "grandma", LINES, quote)
    keys = {call[2] for call in transport.sent_to("/checkout/reserve")}
    assert keys == {"reserve:o-c4"}
    assert balances(session_factory, shop, "o-c4") == (2000, 1000, 0)


def test_a_connection_error_on_a_read_is_retried(client, transport):
    transport.refuse_before.add("/wallet")
    assert client.wallet("grandma").balance == 3000


def test_a_call_unsafe_to_repeat_is_not_retried(client, transport):
    transport.unavailable.add("/v1/store/links")
    with pytest.raises(KinsaveRefused) as refused:
        client.exchange_link_code("whatever")
    assert (refused.value.code, refused.value.status) == ("unavailable", 503)
    assert len(transport.sent_to("/v1/store/links")) == 1


def test_503s_give_up_after_the_attempts(client, transport):
    transport.unavailable.add("/wallet")
    with pytest.raises(KinsaveRefused) as refused:
        client.wallet("grandma")
    assert refused.value.status == 503
    assert len(transport.sent_to("/wallet")) == 3


def test_refusals_carry_code_status_and_move_nothing(client, shop, session_factory):  # noqa: F811
    with pytest.raises(KinsaveRefused) as refused:
        client.wallet("stranger")
    assert refused.value.code == "shopper_not_linked"
    assert refused.value.status == 403
    quote = client.quote("grandma", LINES, shipping_fee=800, use_credit=1000)
    with pytest.raises(KinsaveRefused) as refused:
        client.reserve("o-c5", "grandma", LINES, quote.model_copy(update={"credit": 999_999}))
    assert refused.value.code and 400 <= refused.value.status < 500
    assert balances(session_factory, shop, "o-c5") == (3000, 0, 0)
    with pytest.raises(KinsaveRefused) as refused:
        client.paid("no-such-order")
    assert (refused.value.code, refused.value.status) == ("order_not_found", 404)


def test_an_unreachable_kinsave_is_unavailable(session_factory):
    key = shop_key(session_factory, role="store")["Authorization"].removeprefix("Bearer ")
    with KinsaveStoreClient("http://127.0.0.1:9", key, retry_wait=0.01) as kinsave:
        with pytest.raises(KinsaveRefused) as refused:
            kinsave.wallet("grandma")
    assert (refused.value.code, refused.value.status) == ("unavailable", 0)


def test_a_shoppers_coupons_are_this_shops_only(client, api, session_factory):
    operator = shop_key(session_factory, shop="Other Shop")
    elsewhere = create_template(api, operator, name="Elsewhere")
    claim(api, login(api, "grandma"), elsewhere["id"])
    coupons = client.shopper_coupons("grandma").coupons
    assert coupons and all(c.template_id != elsewhere["id"] for c in coupons)


class TestAnswers:
    """What a newer (or a broken) kinsave answers: extra fields are ignored, so an older client
    keeps working; an answer missing a field is refused plainly, not handed over half-made."""

    def answering(self, body: dict) -> KinsaveStoreClient:
        http = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=body)))
        return KinsaveStoreClient("http://kinsave.test", "ks_store_x", http=http)

    def test_fields_kinsave_added_later_are_ignored(self):
        wallet = {"shopper_id": "grandma", "shop_id": "shp_1", "balance": 5, "tier": "gold"}
        with self.answering(wallet) as kinsave:
            answer = kinsave.wallet("grandma")
        assert answer.balance == 5 and not hasattr(answer, "tier")

    def test_an_answer_missing_a_field_is_refused(self):
        with self.answering({"shopper_id": "grandma", "shop_id": "shp_1"}) as kinsave:
            with pytest.raises(KinsaveRefused) as refused:
                kinsave.wallet("grandma")
        assert (refused.value.code, refused.value.status) == ("invalid_answer", 200)
