"""What the host allows at checkout: the quote answers the visit's channel's payment methods, the
order remembers its channel, and paying with a method the channel forbids is refused."""

import pytest

from tests.coupons.factories import my_coupon_states
from tests.factories import error_code
from tests.storelinks.factories import LINES, Shop, link, reserve_body, shop_with_grandma, wallet_of


@pytest.fixture
def shop(api, session_factory) -> Shop:
    made = shop_with_grandma(api, session_factory)
    link(api, made)
    return made


def quote(api, shop: Shop, **extra):
    body = {"shopper_id": "grandma", "lines": LINES, "use_credit": 1000, **extra}
    return api.post("/v1/store/checkout/quote", json=body, headers=shop.store)


class TestQuoteAnswersTheChannelsMethods:
    def test_web_by_default(self, api, shop):
        answer = quote(api, shop).json()
        assert answer["channel"] == "web"
        assert answer["payment_methods"] == ["wallet", "card", "alipay", "wechat_pay"]

    @pytest.mark.parametrize(
        ("channel", "methods"),
        [("wechat", ["wallet", "wechat_pay"]), ("telegram", ["wallet", "card"])],
    )
    def test_the_hosts(self, api, shop, channel, methods):
        answer = quote(api, shop, channel=channel).json()
        assert (answer["channel"], answer["payment_methods"]) == (channel, methods)

    def test_an_operators_policy_edit_is_followed(self, api, shop):
        edited = api.put(
            "/v1/admin/channels/telegram/policy",
            json={"payment_methods": ["card"]},
            headers=shop.operator,
        )
        assert edited.status_code == 200, edited.text
        answer = quote(api, shop, channel="telegram").json()
        assert answer["payment_methods"] == ["card"]
        assert answer["credit"] == 0  # the host forbids wallet credit: none is used

    def test_unknown_channel(self, api, shop):
        refused = quote(api, shop, channel="myspace")
        assert (refused.status_code, error_code(refused)) == (404, "not_found")


class TestPaid:
    def test_a_method_the_channel_allows(self, api, shop):
        body = reserve_body(shop, "o-1", channel="wechat")
        reserved = api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)
        assert reserved.status_code == 200 and reserved.json()["channel"] == "wechat"
        paid = api.post(
            "/v1/store/orders/o-1/paid", json={"payment_method": "wechat_pay"}, headers=shop.store
        )
        assert paid.status_code == 200, paid.text
        assert (paid.json()["status"], paid.json()["payment_method"]) == ("paid", "wechat_pay")

    def test_a_method_the_channel_forbids_changes_nothing(self, api, session_factory, shop):
        body = reserve_body(shop, "o-1", channel="wechat")
        api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)
        refused = api.post(
            "/v1/store/orders/o-1/paid", json={"payment_method": "card"}, headers=shop.store
        )
        assert (refused.status_code, error_code(refused)) == (422, "payment_method_not_allowed")
        assert refused.json()["error"]["details"]["allowed"] == ["wallet", "wechat_pay"]
        order = api.get("/v1/store/orders/o-1", headers=shop.store).json()
        assert (order["status"], order["payment_method"]) == ("reserved", None)
        assert my_coupon_states(api, shop.grandma) == {shop.coupon: "reserved"}
        assert wallet_of(session_factory, "grandma", shop.shop_id) == 2000  # held, not redeemed

    def test_credit_on_a_channel_without_wallet_is_refused(self, api, session_factory, shop):
        api.put(
            "/v1/admin/channels/sms/policy",
            json={"payment_methods": ["card"]},
            headers=shop.operator,
        )
        body = reserve_body(shop, "o-1", channel="sms")
        refused = api.post("/v1/store/checkout/reserve", json=body, headers=shop.store)
        assert (refused.status_code, error_code(refused)) == (422, "payment_method_not_allowed")
        assert wallet_of(session_factory, "grandma", shop.shop_id) == 3000
        assert my_coupon_states(api, shop.grandma) == {shop.coupon: "available"}
        missing = api.get("/v1/store/orders/o-1", headers=shop.store)
        assert error_code(missing) == "order_not_found"
