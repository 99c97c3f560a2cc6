from datetime import datetime

from pydantic import BaseModel, Field

from kinsave.money import fen_field

MAX_PRICE = 10**10


class ProductIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    price: int = fen_field(ge=0, le=MAX_PRICE)
    category: str = Field(min_length=1, max_length=64)
    image_url: str | None = Field(default=None, max_length=500)
    in_stock: bool = True


class ProductsIn(BaseModel):
    products: list[ProductIn] = Field(min_length=1, max_length=1000)


class UpsertOut(BaseModel):
    upserted: int


class ProductOut(BaseModel):
    shop_id: str
    sku: str
    title: str
    price: int = fen_field()
    category: str
    image_url: str | None
    in_stock: bool
    updated_at: datetime


class ProductListOut(BaseModel):
    products: list[ProductOut]
    total: int
    limit: int
    offset: int
