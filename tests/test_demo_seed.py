"""`kinsave demo` seeds the demo store's own catalog and landing templates, and its shares of the
rice deal carry the rice coupon."""

from kinsave_demo_store.catalog import PRODUCTS, landing_templates

from kinsave import demo
from kinsave.catalog import service as catalog
from kinsave.db import unit_of_work, utcnow
from kinsave.sharing import service as sharing
from kinsave.sharing import store_landing
from kinsave.sharing.schemas import ShareIn, TargetIn


def test_the_demo_sells_what_the_store_sells(session_factory, settings):
    with unit_of_work(session_factory) as session:
        seeded = demo.seed(session, settings)
    with unit_of_work(session_factory) as session:
        products = catalog.list_products(session, seeded.shop_id, limit=200).products
        assert {(p.sku, p.price, p.category) for p in products} == {
            (p.sku, p.price, p.category) for p in PRODUCTS
        }
        landing = store_landing.get_landing(session, seeded.shop_id)
        assert landing.model_dump(exclude={"updated_at"}) == {
            "envelope": None,
            "help": None,
            **landing_templates("/store"),
        }
        share = sharing.create_share(
            session,
            "grandma",
            ShareIn(
                target=TargetIn(type="deal", id="rice-5kg"),
                channel="wechat",
                campaign_id=seeded.campaign_id,
            ),
            base_url=demo.DEMO_BASE_URL,
            now=utcnow(),
        )
    assert share.coupon_template_id == seeded.coupon_template_ids[0]  # ¥20 off rice
