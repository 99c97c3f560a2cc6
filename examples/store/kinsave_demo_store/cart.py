"""The cart lives in a cookie as "sku:qty,sku:qty": no server state until checkout."""

from kinsave_demo_store.catalog import BY_SKU, Product
from kinsave_demo_store.client import CartLine

MAX_QUANTITY = 99


def read(cookie: str | None) -> dict[str, int]:
    cart: dict[str, int] = {}
    for part in (cookie or "").split(","):
        sku, _, quantity = part.partition(":")
        if sku in BY_SKU and quantity.isdigit() and 0 < int(quantity) <= MAX_QUANTITY:
            cart[sku] = int(quantity)
    return cart


def write(cart: dict[str, int]) -> str:
    return ",".join(f"{sku}:{quantity}" for sku, quantity in cart.items() if quantity > 0)


def lines(cart: dict[str, int]) -> list[tuple[Product, int]]:
    return [(BY_SKU[sku], quantity) for sku, quantity in cart.items()]


def quote_lines(cart: dict[str, int]) -> list[CartLine]:
    """The cart as kinsave's quote expects it: sku, quantity and the store's unit price."""
    return [
        CartLine(sku=product.sku, quantity=quantity, unit_price=product.price)
        for product, quantity in lines(cart)
    ]
