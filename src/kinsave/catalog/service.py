"""The shop's products: bulk upsert from the store, and reads for operators, shoppers and deals."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kinsave.catalog.models import Product
from kinsave.catalog.schemas import ProductIn, ProductListOut, ProductOut
from kinsave.db import driver_of, insert_on_conflict, utcnow
from kinsave.errors import KinsaveError


def upsert_products(session: Session, shop_id: str, products: list[ProductIn]) -> int:
    """Insert or update products by (shop, sku); the last row of a repeated sku wins.

    Idempotent: pushing the same list twice leaves the same catalog. Returns rows written.
    """
    latest = {p.sku: p for p in products}
    if not latest:
        return 0
    now = utcnow()
    rows = [{**p.model_dump(), "shop_id": shop_id, "updated_at": now} for p in latest.values()]
    statement = insert_on_conflict(session, Product).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["shop_id", "sku"],
        set_={
            name: statement.excluded[name]
            for name in ("title", "price", "category", "image_url", "in_stock", "updated_at")
        },
    )
    session.execute(statement)
    return len(rows)


def _out(product: Product) -> ProductOut:
    return ProductOut(
        shop_id=product.shop_id,
        sku=product.sku,
        title=product.title,
        price=product.price,
        category=product.category,
        image_url=product.image_url,
        in_stock=product.in_stock,
        updated_at=product.updated_at,
    )


def list_products(
    session: Session,
    shop_id: str | None,
    *,
    category: str | None = None,
    in_stock_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> ProductListOut:
    """Products by category then sku; one shop's, or every shop's when shop_id is None."""
    statement = select(Product)
    if shop_id is not None:
        statement = statement.where(Product.shop_id == shop_id)
    if category is not None:
        statement = statement.where(Product.category == category)
    if in_stock_only:
        statement = statement.where(Product.in_stock.is_(True))
    total = session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    page = session.execute(
        statement.order_by(Product.category, Product.sku, Product.id).limit(limit).offset(offset)
    ).scalars()
    return ProductListOut(products=[_out(p) for p in page], total=total, limit=limit, offset=offset)


def get_product(session: Session, shop_id: str, sku: str) -> ProductOut:
    """One product of the shop. Errors: not_found."""
    product = find_product(session, shop_id, sku)
    if product is None:
        raise KinsaveError("not_found", "no such product")
    return product


def find_product(session: Session, shop_id: str, sku: str) -> ProductOut | None:
    """One product of the shop, or None when the store's catalog does not carry it."""
    product = session.execute(
        select(Product).where(Product.shop_id == shop_id, Product.sku == sku)
    ).scalar_one_or_none()
    return None if product is None else _out(product)


def categories_of(session: Session, shop_id: str, skus: list[str]) -> dict[str, str]:
    """sku -> category for the skus the shop has pushed (unknown skus are left out)."""
    if not skus:
        return {}
    # Straight to the driver (decision 17): read on every checkout quote, where SQLAlchemy's
    # expanding IN (a new SQL string per cart size) cost more than the read itself.
    wanted = sorted(set(skus))
    with driver_of(session) as driver:
        if session.get_bind().dialect.name == "postgresql":
            rows = driver.execute(_PG_CATEGORIES, (shop_id, wanted), prepare=True).fetchall()
        else:
            marks = ", ".join("?" * len(wanted))
            sql = f"SELECT sku, category FROM product WHERE shop_id = ? AND sku IN ({marks})"
            rows = driver.execute(sql, (shop_id, *wanted)).fetchall()
    return {sku: category for sku, category in rows}


_PG_CATEGORIES = "SELECT sku, category FROM product WHERE shop_id = %s AND sku = ANY(%s)"
# categories_of as one JSON object {sku: category} (NULL when none is known), for statements that
# read it together with other things (the checkout quote's one round trip:
# coupons/quote_inputs.py). Parameters :shop_id and :skus, a JSON array as text on both
# databases: psycopg adapting a Python list of 30 skus to an array cost a PostgreSQL quote about
# 30 us of CPU, a fifth of its read (docs/benchmarks.md, "Sixth round").
SQLITE_CATEGORIES_SQL = (
    "(SELECT json_group_object(sku, category) FROM product WHERE shop_id = :shop_id"
    " AND category IS NOT NULL AND sku IN (SELECT value FROM json_each(:skus)))"
)
PG_CATEGORIES_SQL = (
    "(SELECT json_object_agg(sku, category) FROM product WHERE shop_id = :shop_id"
    " AND category IS NOT NULL AND sku IN (SELECT json_array_elements_text(CAST(:skus AS json))))"
)


def products_for_deals(
    session: Session, shop_id: str | None, category: str | None
) -> list[ProductOut]:
    """Every in-stock product the deals feed ranks (one shop's or all shops')."""
    statement = select(Product).where(Product.in_stock.is_(True))
    if shop_id is not None:
        statement = statement.where(Product.shop_id == shop_id)
    if category is not None:
        statement = statement.where(Product.category == category)
    return [_out(p) for p in session.execute(statement.order_by(Product.id)).scalars()]
