"""The store's own catalog. The store, not kinsave, is the source of truth for prices (fen)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    category: str
    price: int


PRODUCTS = [
    Product("rice-5kg", "Northeast rice 5 kg", "grain", 5900),
    Product("rice-10kg", "Northeast rice 10 kg", "grain", 10900),
    Product("noodles-2kg", "Hand-pulled noodles 2 kg", "grain", 2600),
    Product("oil-5l", "Peanut oil 5 L", "oil", 8990),
    Product("soy-1l", "Light soy sauce 1 L", "condiments", 1590),
    Product("vinegar-1l", "Aged black vinegar 1 L", "condiments", 1290),
    Product("eggs-30", "Free-range eggs, 30", "fresh", 3290),
    Product("milk-12", "Whole milk 12 x 250 ml", "dairy", 5990),
    Product("tea-250g", "Jasmine tea 250 g", "drinks", 4800),
    Product("dates-1kg", "Red dates 1 kg", "snacks", 3990),
]
BY_SKU = {product.sku: product for product in PRODUCTS}
