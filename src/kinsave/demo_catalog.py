"""The demo shop's products and coupon templates (journey 1: rice 5 kg ¥59, ¥39 after coupon).

Created through the services, like the rest of the demo.
"""

from sqlalchemy.orm import Session

from kinsave.catalog import service as catalog
from kinsave.catalog.schemas import ProductIn
from kinsave.coupons import service as coupons
from kinsave.coupons.schemas import ScopeIn, TemplateIn

# (category, [(sku, title, price in fen)])
PRODUCTS: list[tuple[str, list[tuple[str, str, int]]]] = [
    (
        "rice",
        [
            ("rice-5kg", "Northeast rice 5 kg", 5900),
            ("rice-10kg", "Northeast rice 10 kg", 10900),
            ("rice-jasmine-5kg", "Jasmine rice 5 kg", 6900),
            ("rice-brown-2kg", "Brown rice 2 kg", 3500),
            ("rice-glutinous-2kg", "Glutinous rice 2 kg", 2900),
            ("rice-wuchang-5kg", "Wuchang rice 5 kg", 8900),
            ("rice-millet-1kg", "Yellow millet 1 kg", 1800),
        ],
    ),
    (
        "oil",
        [
            ("oil-peanut-5l", "Peanut oil 5 L", 8900),
            ("oil-peanut-1l", "Peanut oil 1 L", 2200),
            ("oil-rapeseed-5l", "Rapeseed oil 5 L", 6500),
            ("oil-sesame-250ml", "Sesame oil 250 ml", 1800),
            ("oil-sunflower-4l", "Sunflower oil 4 L", 5900),
            ("oil-olive-500ml", "Olive oil 500 ml", 4900),
        ],
    ),
    (
        "noodles",
        [
            ("noodle-wheat-1kg", "Wheat noodles 1 kg", 990),
            ("noodle-buckwheat-500g", "Buckwheat noodles 500 g", 1290),
            ("noodle-instant-5", "Instant noodles, 5 pack", 1590),
            ("noodle-rice-vermicelli", "Rice vermicelli 400 g", 890),
            ("noodle-egg-500g", "Egg noodles 500 g", 1190),
            ("dumpling-pork-1kg", "Pork dumplings 1 kg", 3290),
            ("dumpling-veg-1kg", "Vegetable dumplings 1 kg", 2890),
        ],
    ),
    (
        "snacks",
        [
            ("snack-sunflower-seeds", "Sunflower seeds 500 g", 1590),
            ("snack-peanuts", "Roasted peanuts 500 g", 1990),
            ("snack-dates", "Red dates 500 g", 2990),
            ("snack-walnuts", "Walnuts 1 kg", 5990),
            ("snack-mooncake-box", "Mooncake gift box", 12800),
            ("snack-rice-crackers", "Rice crackers 400 g", 1290),
            ("snack-dried-mango", "Dried mango 300 g", 1890),
            ("snack-haw-flakes", "Haw flakes 500 g", 990),
        ],
    ),
    (
        "fruit",
        [
            ("fruit-apples-2kg", "Fuji apples 2 kg", 2990),
            ("fruit-oranges-2kg", "Navel oranges 2 kg", 3290),
            ("fruit-kiwi-12", "Kiwi fruit, 12", 3990),
            ("fruit-pears-2kg", "Snow pears 2 kg", 2590),
            ("fruit-grapes-1kg", "Kyoho grapes 1 kg", 3590),
            ("fruit-bananas-1kg", "Bananas 1 kg", 990),
            ("fruit-dragon-4", "Dragon fruit, 4", 2890),
        ],
    ),
    (
        "dairy",
        [
            ("milk-1l-12", "Whole milk 1 L x 12", 6900),
            ("milk-yogurt-8", "Plain yogurt, 8 cups", 2590),
            ("milk-soy-1l-6", "Soy milk 1 L x 6", 2990),
            ("milk-powder-900g", "Milk powder 900 g", 15800),
            ("eggs-30", "Free-range eggs, 30", 3590),
            ("cheese-slices", "Cheese slices 200 g", 2190),
        ],
    ),
    (
        "household",
        [
            ("home-tissue-24", "Tissue rolls, 24", 4590),
            ("home-detergent-3kg", "Laundry detergent 3 kg", 4990),
            ("home-dish-soap", "Dish soap 1.5 kg", 1590),
            ("home-toothpaste-3", "Toothpaste, 3 pack", 2990),
            ("home-shampoo-750ml", "Shampoo 750 ml", 5900),
            ("home-bin-bags", "Bin bags, 100", 1290),
            ("home-sponges-10", "Kitchen sponges, 10", 890),
            ("home-thermos", "Thermos flask 1 L", 8900),
            ("home-slippers", "Cotton slippers", 3900),
        ],
    ),
]

TEMPLATES = [
    TemplateIn(
        name="¥20 off rice",
        kind="amount_off",
        amount=2000,
        stock=10_000,
        valid_days=7,
        stacking_group="rice",
        scope=ScopeIn(categories=["rice"]),
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


def seed_catalog(session: Session, shop_id: str) -> list[str]:
    """Push the demo products and create the coupon templates; returns the template ids."""
    products = [
        ProductIn(sku=sku, title=title, price=price, category=category)
        for category, items in PRODUCTS
        for sku, title, price in items
    ]
    catalog.upsert_products(session, shop_id, products)
    return [coupons.create_template(session, shop_id, t).id for t in TEMPLATES]
