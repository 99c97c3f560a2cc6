"""`kinsave demo` seeds the demo store's own catalog and landing templates, and its shares of the
rice deal carry the rice coupon."""

from kinsave_demo_store.catalog import PRODUCTS, landing_templates
from sqlalchemy import select

from kinsave import demo, demo_catalog
from kinsave.catalog import service as catalog
from kinsave.coupons.held import as_held
from kinsave.coupons.models import CouponTemplate
from kinsave.coupons.pricing import CartLine, measure
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


def test_no_seeded_coupon_makes_an_item_free(session_factory, settings):
    """Each seeded coupon on one unit of each catalog item leaves something to pay (the rice
    coupon once turned ¥18 millet into ¥0.00); rice 5 kg stays ¥59, ¥39 after coupon."""
    with unit_of_work(session_factory) as session:
        seeded = demo.seed(session, settings)
    with unit_of_work(session_factory) as session:
        templates = session.scalars(
            select(CouponTemplate).where(CouponTemplate.shop_id == seeded.shop_id)
        ).all()
        held = [as_held(t, t.id, None) for t in templates]
    assert held
    free = [
        (coupon.name, product.sku)
        for product in PRODUCTS
        for coupon in held
        if coupon.kind != "free_shipping"
        and measure([CartLine(product.sku, 1, product.price, product.category)], 0, coupon).nominal
        >= product.price
    ]
    assert free == []
    rice = next(p for p in PRODUCTS if p.sku == "rice-5kg")
    rice_coupon = next(c for c in held if c.name == "¥20 off rice")
    line = CartLine(rice.sku, 1, rice.price, rice.category)
    assert (rice.price, rice.price - measure([line], 0, rice_coupon).nominal) == (5900, 3900)


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


def test_the_demo_funnel_counts_every_stage_and_its_burn_never_goes_negative(
    session_factory, settings
):
    """The seeded history passes through every stage, so none shows 0; its back-dated days are
    spent from a budget funded before them (the burn chart once showed a negative budget)."""
    from kinsave.campaigns import service as campaigns
    from kinsave.sharing import funnel

    with unit_of_work(session_factory) as session:
        seeded = demo.seed(session, settings)
    with unit_of_work(session_factory) as session:
        report = funnel.funnel(session, seeded.shop_id, seeded.campaign_id, [])
        burn = campaigns.budget_burn(session, seeded.shop_id, seeded.campaign_id)
    (total,) = report.rows
    stages = ("shares", "opens", "resolves", "claims", "store_visits", "orders", "sales")
    assert all(getattr(total, stage) > 0 for stage in stages), total
    assert total.coupon_cost > 0
    assert burn.points and all(point.remaining >= 0 for point in burn.points)
    assert burn.points[0].funded == 5_000_000
