"""The demo shop's coupon templates (journey 1: rice 5 kg ¥59, ¥39 after coupon; no coupon makes
any item free: the rice coupon needs ¥39 of rice, so ¥18 millet is not ¥0), and its
catalog, which is the demo store's own (kinsave_demo_store.catalog): pushed as the store pushes
it, through the service behind `PUT /v1/store/products`.
"""

import importlib.util

from sqlalchemy.orm import Session

from kinsave.catalog import service as catalog
from kinsave.catalog.schemas import ProductsIn
from kinsave.coupons import service as coupons
from kinsave.coupons.schemas import ScopeIn, TemplateIn
from kinsave.db import utcnow
from kinsave.sharing import store_landing
from kinsave.sharing.schemas import StoreLandingIn

TEMPLATES = [
    TemplateIn(
        name="¥20 off rice",
        kind="amount_off",
        amount=2000,
        stock=10_000,
        valid_days=7,
        stacking_group="rice",
        scope=ScopeIn(categories=["rice"], min_spend=3900),
    ),
    TemplateIn(
        name="¥20 off ¥99",
        kind="threshold",
        amount=2000,
        threshold=9900,
        stock=10_000,
        valid_days=7,
        stacking_group="store",
    ),
    TemplateIn(
        name="15% off snacks, up to ¥10",
        kind="percent_off",
        percent=15,
        cap=1000,
        stock=5_000,
        valid_days=14,
        stacking_group="snacks",
        scope=ScopeIn(categories=["snacks"]),
    ),
    TemplateIn(
        name="Free shipping over ¥49",
        kind="free_shipping",
        threshold=4900,
        stock=20_000,
        per_shopper_limit=3,
        valid_days=30,
        stacking_group="shipping",
    ),
]


def seed_catalog(session: Session, shop_id: str, *, with_store: bool = True) -> list[str]:
    """Push the demo store's products and create the coupon templates; returns the template ids.
    The store's landing templates are registered too, for the store served at /store. Without
    the demo store package (`kinsave[demo]`) there is no catalog to push: templates only."""
    if with_store:
        push_store_catalog(session, shop_id)
    return [coupons.create_template(session, shop_id, t).id for t in TEMPLATES]


def push_store_catalog(session: Session, shop_id: str) -> None:
    from kinsave_demo_store.catalog import catalog_payload, landing_templates

    products = ProductsIn.model_validate({"products": catalog_payload()}).products
    catalog.upsert_products(session, shop_id, products)
    landing = StoreLandingIn.model_validate(landing_templates("/store"))
    store_landing.put_landing(session, shop_id, landing, utcnow())


def demo_store_installed() -> bool:
    """Whether the demo store package (`pip install 'kinsave[demo]'`) can be imported."""
    return importlib.util.find_spec("kinsave_demo_store") is not None
