"""A template's terms are kept per process by their version (decision 39): the database bumps the
version whenever any UPDATE writes a term, so an edit by any path shows in the next quote."""

from fastapi.testclient import TestClient
from sqlalchemy import text

from kinsave.app import create_app
from kinsave.coupons import held
from kinsave.db import unit_of_work
from tests.coupons.factories import RICE_PRODUCTS, claim, create_template, push_products
from tests.factories import create_campaign, funded_shopper, link_shopper, shop_key

CART = {
    "shopper_id": "grandma",
    "lines": [{"sku": "rice-5kg", "quantity": 2, "unit_price": 5900}],
    "shipping_fee": 800,
}


def _version(session_factory, template_id: str) -> int:
    with unit_of_work(session_factory) as session:
        return session.execute(
            text("SELECT terms_version FROM coupon_template WHERE id = :id"), {"id": template_id}
        ).scalar_one()


def _update(session_factory, template_id: str, assignments: str) -> None:
    with unit_of_work(session_factory) as session:
        session.execute(
            text(f"UPDATE coupon_template SET {assignments} WHERE id = :id"), {"id": template_id}
        )


class TestTermsVersion:
    def test_a_written_term_bumps_the_version_and_nothing_else_does(self, api, session_factory):
        operator = shop_key(session_factory)
        template = create_template(api, operator)["id"]
        assert _version(session_factory, template) == 1

        _update(session_factory, template, "issued = issued + 1, status = 'paused'")
        _update(session_factory, template, "stock = stock + 5, ended_at = NULL")
        assert _version(session_factory, template) == 1

        _update(session_factory, template, "amount = 900")
        assert _version(session_factory, template) == 2
        _update(session_factory, template, "name = 'renamed', issued = issued + 1")
        _update(session_factory, template, "scope_values = '[\"rice\"]'")
        assert _version(session_factory, template) == 4

    def test_an_edit_in_the_database_shows_in_the_next_quote(self, api, session_factory):
        operator = shop_key(session_factory)
        store = shop_key(session_factory, role="store")
        push_products(api, store, RICE_PRODUCTS)
        campaign = create_campaign(api, operator)
        grandma = funded_shopper(api, operator, campaign["id"], "grandma", 3000)
        template = create_template(api, operator, name="rice", amount=700)
        link_shopper(session_factory, template["shop_id"], "grandma")
        claim(api, grandma, template["id"])

        def quote() -> dict:
            response = api.post("/v1/store/checkout/quote", json=CART, headers=store)
            assert response.status_code == 200, response.text
            return response.json()

        before = quote()
        assert quote() == before  # the terms and the answer are remembered now
        _update(session_factory, template["id"], "amount = 1500, name = 'more rice'")
        after = quote()
        _update(session_factory, template["id"], "scope_kind = 'skus', scope_values = '[\"oil\"]'")
        out_of_scope = quote()

        assert before["discount"] == 700
        assert after["discount"] == 1500
        assert after["explanations"][0]["name"] == "more rice"
        assert out_of_scope["discount"] == 0
        assert out_of_scope["explanations"][0]["reason"] == "out_of_scope"


class TestTermsReadAtStart:
    def test_after_start_up_the_active_templates_terms_are_kept(
        self, api, session_factory, settings
    ):
        operator = shop_key(session_factory)
        active = create_template(api, operator, name="rice", amount=700)["id"]
        paused = create_template(api, operator, name="later")["id"]
        _update(session_factory, paused, "status = 'paused'")
        held._terms.clear()

        with TestClient(create_app(settings)):
            kept = dict(held._terms)

        assert set(kept) == {active}  # the paused one is read on its first quote, as before
        version, terms = kept[active]
        assert version == 1
        assert (terms[0], terms[2]) == ("rice", 700)

    def test_the_read_at_start_is_bounded(self, api, session_factory, settings):
        operator = shop_key(session_factory)
        for number in range(3):
            create_template(api, operator, name=f"t{number}")
        held._terms.clear()
        app = create_app(settings)
        try:
            assert held.remember_active_terms(app.state.engine, not settings.is_sqlite, 2) == 2
        finally:
            app.state.engine.dispose()
        assert len(held._terms) == 2
