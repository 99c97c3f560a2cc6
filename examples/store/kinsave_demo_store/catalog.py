"""The store's own catalog. The store, not kinsave, is the source of truth for prices (fen): it
pushes this list to kinsave (`PUT /v1/store/products`, `catalog_payload`), so the mini app only
ever shows deals the store sells. `kinsave demo` seeds kinsave's catalog from it."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    category: str
    price: int


PRODUCTS = [
    # rice
    Product("rice-5kg", "Northeast rice 5 kg", "rice", 5900),
    Product("rice-10kg", "Northeast rice 10 kg", "rice", 10900),
    Product("rice-jasmine-5kg", "Jasmine rice 5 kg", "rice", 6900),
    Product("rice-brown-2kg", "Brown rice 2 kg", "rice", 3500),
    Product("rice-glutinous-2kg", "Glutinous rice 2 kg", "rice", 2900),
    Product("rice-wuchang-5kg", "Wuchang rice 5 kg", "rice", 8900),
    Product("rice-millet-1kg", "Yellow millet 1 kg", "rice", 1800),
    # oil
    Product("oil-peanut-5l", "Peanut oil 5 L", "oil", 8900),
    Product("oil-peanut-1l", "Peanut oil 1 L", "oil", 2200),
    Product("oil-rapeseed-5l", "Rapeseed oil 5 L", "oil", 6500),
    Product("oil-sesame-250ml", "Sesame oil 250 ml", "oil", 1800),
    Product("oil-sunflower-4l", "Sunflower oil 4 L", "oil", 5900),
    Product("oil-olive-500ml", "Olive oil 500 ml", "oil", 4900),
    # noodles
    Product("noodle-wheat-1kg", "Wheat noodles 1 kg", "noodles", 990),
    Product("noodle-buckwheat-500g", "Buckwheat noodles 500 g", "noodles", 1290),
    Product("noodle-instant-5", "Instant noodles, 5 pack", "noodles", 1590),
    Product("noodle-rice-vermicelli", "Rice vermicelli 400 g", "noodles", 890),
    Product("noodle-egg-500g", "Egg noodles 500 g", "noodles", 1190),
    Product("dumpling-pork-1kg", "Pork dumplings 1 kg", "noodles", 3290),
    Product("dumpling-veg-1kg", "Vegetable dumplings 1 kg", "noodles", 2890),
    # snacks
    Product("snack-sunflower-seeds", "Sunflower seeds 500 g", "snacks", 1590),
    Product("snack-peanuts", "Roasted peanuts 500 g", "snacks", 1990),
    Product("snack-dates", "Red dates 500 g", "snacks", 2990),
    Product("snack-walnuts", "Walnuts 1 kg", "snacks", 5990),
    Product("snack-mooncake-box", "Mooncake gift box", "snacks", 12800),
    Product("snack-rice-crackers", "Rice crackers 400 g", "snacks", 1290),
    Product("snack-dried-mango", "Dried mango 300 g", "snacks", 1890),
    Product("snack-haw-flakes", "Haw flakes 500 g", "snacks", 990),
    # fruit
    Product("fruit-apples-2kg", "Fuji apples 2 kg", "fruit", 2990),
    Product("fruit-oranges-2kg", "Navel oranges 2 kg", "fruit", 3290),
    Product("fruit-kiwi-12", "Kiwi fruit, 12", "fruit", 3990),
    Product("fruit-pears-2kg", "Snow pears 2 kg", "fruit", 2590),
    Product("fruit-grapes-1kg", "Kyoho grapes 1 kg", "fruit", 3590),
    Product("fruit-bananas-1kg", "Bananas 1 kg", "fruit", 990),
    Product("fruit-dragon-4", "Dragon fruit, 4", "fruit", 2890),
    # dairy
    Product("milk-1l-12", "Whole milk 1 L x 12", "dairy", 6900),
    Product("milk-yogurt-8", "Plain yogurt, 8 cups", "dairy", 2590),
    Product("milk-soy-1l-6", "Soy milk 1 L x 6", "dairy", 2990),
    Product("milk-powder-900g", "Milk powder 900 g", "dairy", 15800),
    Product("eggs-30", "Free-range eggs, 30", "dairy", 3590),
    Product("cheese-slices", "Cheese slices 200 g", "dairy", 2190),
    # household
    Product("home-tissue-24", "Tissue rolls, 24", "household", 4590),
    Product("home-detergent-3kg", "Laundry detergent 3 kg", "household", 4990),
    Product("home-dish-soap", "Dish soap 1.5 kg", "household", 1590),
    Product("home-toothpaste-3", "Toothpaste, 3 pack", "household", 2990),
    Product("home-shampoo-750ml", "Shampoo 750 ml", "household", 5900),
    Product("home-bin-bags", "Bin bags, 100", "household", 1290),
    Product("home-sponges-10", "Kitchen sponges, 10", "household", 890),
    Product("home-thermos", "Thermos flask 1 L", "household", 8900),
    Product("home-slippers", "Cotton slippers", "household", 3900),
]
BY_SKU = {product.sku: product for product in PRODUCTS}


def catalog_payload() -> list[dict[str, Any]]:
    """The products as `PUT /v1/store/products` takes them."""
    return [asdict(product) for product in PRODUCTS]


def landing_templates(mount: str) -> dict[str, str]:
    """Where this store wants shares to land (`PUT /v1/store/landing`), for a store served at
    `mount` (a path on kinsave's host, as under `kinsave demo`, or an absolute URL)."""
    root = mount.rstrip("/")
    return {
        "product": root + "/p/{id}?share={code}",
        "coupon": root + "/?coupon={id}&share={code}",
        "home": root + "/",
    }
