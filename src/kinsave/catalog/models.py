"""The store's products as the store last pushed them. The store stays the source of truth."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinsave.db import Base, BigIntId, UTCDateTime


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("shop_id", "sku"),
        Index("ix_product_shop_id_category", "shop_id", "category"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    price: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(64))
    image_url: Mapped[str | None] = mapped_column(String(500))
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
