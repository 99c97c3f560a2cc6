from typing import Annotated

from fastapi import APIRouter, Query

from kinsave.api import DbSession, ReadSession
from kinsave.auth.deps import CurrentOperator, CurrentShopper, CurrentStore
from kinsave.catalog import service
from kinsave.catalog.schemas import ProductListOut, ProductOut, ProductsIn, UpsertOut

router = APIRouter(prefix="/v1", tags=["catalog"])
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]


@router.put("/store/products", response_model=UpsertOut)
def put_products(body: ProductsIn, store: CurrentStore, session: DbSession) -> UpsertOut:
    """Bulk upsert by sku (up to 1000 per call). Idempotent: the same push twice changes nothing."""
    return UpsertOut(upserted=service.upsert_products(session, store.shop_id, body.products))


@router.get("/store/products", response_model=ProductListOut)
def store_products(
    store: CurrentStore,
    session: ReadSession,
    category: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProductListOut:
    return service.list_products(
        session, store.shop_id, category=category, limit=limit, offset=offset
    )


@router.get("/admin/products", response_model=ProductListOut)
def admin_products(
    operator: CurrentOperator,
    session: ReadSession,
    category: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProductListOut:
    return service.list_products(
        session, operator.shop_id, category=category, limit=limit, offset=offset
    )


@router.get("/admin/products/{sku}", response_model=ProductOut)
def admin_product(sku: str, operator: CurrentOperator, session: ReadSession) -> ProductOut:
    return service.get_product(session, operator.shop_id, sku)


@router.get("/products", response_model=ProductListOut)
def shopper_products(
    _shopper: CurrentShopper,
    session: ReadSession,
    shop_id: str | None = None,
    category: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProductListOut:
    """In-stock products, of one shop or of every shop."""
    return service.list_products(
        session, shop_id, category=category, in_stock_only=True, limit=limit, offset=offset
    )


@router.get("/products/{shop_id}/{sku}", response_model=ProductOut)
def shopper_product(
    shop_id: str, sku: str, _shopper: CurrentShopper, session: ReadSession
) -> ProductOut:
    return service.get_product(session, shop_id, sku)
