"""The quote's fast paths against the plain ones: its JSON, its held coupons, its memory."""

import json

from hypothesis import given, settings
from sqlalchemy import select

from kinsave.coupons import checkout
from kinsave.coupons import quote as optimiser
from kinsave.coupons.checkout_schemas import QuoteIn, QuoteOut
from kinsave.coupons.held import as_held, held_coupons
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import unit_of_work, utcnow
from kinsave.ledger import service as ledger
from kinsave.ledger.models import AccountKind
from kinsave.sharing import service as sharing
from tests.coupons.factories import RICE_PRODUCTS, claim, create_template, push_products
from tests.coupons.test_quote import carts
from tests.factories import create_campaign, funded_shopper, link_shopper, shop_key

CART = {
    "shopper_id": "grandma",
    "lines": [
        {"sku": "rice-5kg", "quantity": 2, "unit_price": 5900},
        {"sku": "oil-1l", "quantity": 3, "unit_price": 2000},
    ],
    "shipping_fee": 800,
    "use_credit": 5000,
}


class TestQuoteJson:
    @settings(max_examples=200, deadline=None)
    @given(carts())
    def test_same_bytes_as_the_validated_model(self, cart):
        lines, held, shipping, use_credit, wallet = cart
        result = optimiser.quote(
            lines, shipping, held, use_credit=use_credit, wallet_balance=wallet
        )

        visit = ("wechat", ["wallet", "wechat_pay"])
        fast = checkout.quote_json("grandma", wallet, result, *visit)
        model = checkout.quote_out("grandma", wallet, result, *visit)

        assert fast == model.model_dump_json().encode()
        assert QuoteOut.model_validate_json(fast) == model


def _orm_held(session, shop_id: str, shopper_id: str):
    """held_coupons as first written, through the ORM: the reference for the driver's rows."""
    rows = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(
            Coupon.shopper_id == shopper_id,
            Coupon.shop_id == shop_id,
            Coupon.state == "available",
            Coupon.expires_at > utcnow(),
        )
        .order_by(Coupon.id)
    ).all()
    return [as_held(t, c.id, c.expires_at) for c, t in rows]


def _plain_quote(session, shop_id: str, data: QuoteIn) -> bytes:
    """The quote without the memory, from the ORM's rows."""
    wallet = ledger.wallet_balance(session, data.shopper_id, shop_id)
    methods = sharing.payment_methods(session, shop_id, checkout.DEFAULT_CHANNEL)
    result = optimiser.quote(
        checkout.cart_lines(session, shop_id, data.lines),
        data.shipping_fee,
        _orm_held(session, shop_id, data.shopper_id),
        use_credit=data.use_credit,
        wallet_balance=wallet,
    )
    answer = checkout.quote_out(data.shopper_id, wallet, result, checkout.DEFAULT_CHANNEL, methods)
    return answer.model_dump_json().encode()


class TestHeldAndRemembered:
    def test_every_change_of_coupons_or_wallet_shows_in_the_next_quote(self, api, session_factory):
        operator = shop_key(session_factory)
        push_products(api, shop_key(session_factory, role="store"), RICE_PRODUCTS)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 3000)
        scoped = create_template(
            api, operator, name="rice", kind="amount_off", amount=700, scope={"skus": ["rice-5kg"]}
        )
        shipping = create_template(
            api, operator, name="ship", kind="free_shipping", stacking_group="shipping"
        )
        oil = create_template(
            api,
            operator,
            name="oil",
            kind="percent_off",
            percent=10,
            scope={"categories": ["oil"]},
            stacking_group="oil",
        )
        shop_id = scoped["shop_id"]
        link_shopper(session_factory, shop_id, "grandma")
        claim(api, grandma, scoped["id"])
        claim(api, grandma, oil["id"])
        data = QuoteIn.model_validate(CART)
        answers = []

        def quote_both() -> dict:
            with unit_of_work(session_factory) as session:
                assert held_coupons(session, shop_id, "grandma", utcnow()) == _orm_held(
                    session, shop_id, "grandma"
                )
                fast = checkout.quote_checkout_json(session, shop_id, data)
                again = checkout.quote_checkout_json(session, shop_id, data)  # remembered
                assert fast == again == _plain_quote(session, shop_id, data)
            answers.append(json.loads(fast))
            return answers[-1]

        first = quote_both()
        claim(api, grandma, shipping["id"])  # a new coupon
        second = quote_both()
        with unit_of_work(session_factory) as session:  # more credit
            ledger.transfer(
                session,
                from_account_id=ledger.open_account(
                    session, AccountKind.SHOP_FUNDING, shop_id, shop_id
                ),
                to_account_id=ledger.wallet_account(session, "grandma", shop_id),
                amount=1000,
                kind="test_credit",
                key="test-credit:grandma",
            )
        third = quote_both()
        with unit_of_work(session_factory) as session:  # a coupon used elsewhere
            session.execute(
                Coupon.__table__.update()
                .where(Coupon.template_id == shipping["id"])
                .values(state="used", used_at=utcnow())
            )
        fourth = quote_both()

        assert len(first["coupons"]) == 2  # the sku and the category coupon
        assert len(second["coupons"]) == len(first["coupons"]) + 1
        assert third["wallet_balance"] == second["wallet_balance"] + 1000
        assert third["credit"] == 4000
        assert fourth["coupons"] == first["coupons"]
