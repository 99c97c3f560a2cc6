"""The store's own catalog. The store, not kinsave, is the source of truth for prices (fen)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    category: str
    price: int


PRODUCTS = [
    # The same skus and prices as kinsave's demo catalog (`kinsave demo` pushes it there).
    Product("rice-5kg", "Northeast rice 5 kg", "rice", 5900),
    Product("rice-10kg", "Northeast rice 10 kg", "rice", 10900),
    Product("rice-jasmine-5kg", "Jasmine rice 5 kg", "rice", 6900),
    Product("oil-peanut-5l", "Peanut oil 5 L", "oil", 8900),
    Product("oil-sesame-250ml", "Sesame oil 250 ml", "oil", 1800),
    Product("noodle-wheat-1kg", "Wheat noodles 1 kg", "noodles", 990),
    Product("dumpling-pork-1kg", "Pork dumplings 1 kg", "noodles", 3290),
    Product("snack-dates", "Red dates 500 g", "snacks", 2990),
    Product("snack-walnuts", "Walnuts 1 kg", "snacks", 5990),
    Product("fruit-apples-2kg", "Fuji apples 2 kg", "fruit", 2990),
    Product("eggs-30", "Free-range eggs, 30", "dairy", 3590),
    Product("milk-1l-12", "Whole milk 1 L x 12", "dairy", 6900),
    Product("home-tissue-24", "Tissue rolls, 24", "household", 4590),
]
BY_SKU = {product.sku: product for product in PRODUCTS}
