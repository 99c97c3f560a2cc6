"""`kinsave demo` seeds the demo store's own catalog and landing templates, and its shares of the
rice deal carry the rice coupon."""

from kinsave_demo_store.catalog import PRODUCTS, landing_templates

from kinsave import demo, demo_catalog
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


def test_without_the_demo_store_the_demo_seeds_no_catalog_and_does_not_advertise_it(
    session_factory, settings
):
    with unit_of_work(session_factory) as session:
        seeded = demo.seed(session, settings, with_store=False)
    with unit_of_work(session_factory) as session:
        assert catalog.list_products(session, seeded.shop_id, limit=200).products == []
    assert len(seeded.coupon_template_ids) == len(demo_catalog.TEMPLATES)
    banner = demo.describe(seeded, "http://127.0.0.1:8000", with_store=False)
    assert "/store" not in banner
    assert "kinsave\\[demo]" in banner  # Rich prints it as kinsave[demo]
    assert "http://127.0.0.1:8000/store" in demo.describe(seeded, "http://127.0.0.1:8000")
