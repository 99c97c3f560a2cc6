"""Requests and answers of store links: the shopper's side and the store's side."""

from datetime import datetime

from pydantic import BaseModel, Field

from kinsave.coupons.schemas import CouponOut
from kinsave.money import fen_field


class LinkCodeIn(BaseModel):
    shop_id: str = Field(min_length=1, max_length=40)


class LinkCodeOut(BaseModel):
    """Give `code` to the shop's store once; it expires at `expires_at`."""

    code: str
    shop_id: str
    expires_at: datetime


class StoreLinkOut(BaseModel):
    shop_id: str
    shop_name: str
    linked_at: datetime


class StoreLinkListOut(BaseModel):
    links: list[StoreLinkOut]


class LinkExchangeIn(BaseModel):
    code: str = Field(min_length=1, max_length=100)


class LinkExchangeOut(BaseModel):
    shopper_id: str
    linked_at: datetime


class LinkRequestIn(BaseModel):
    return_url: str = Field(
        min_length=1,
        max_length=2000,
        description="Absolute http(s) URL of the store's callback; gets ?code=&state= "
        "(or ?error=access_denied&state=)",
    )
    state: str = Field(
        min_length=1,
        max_length=500,
        description="The store's own value, handed back unchanged: bind it to the browser",
    )


class LinkRequestOut(BaseModel):
    request_id: str
    authorize_url: str
    expires_at: datetime


class LinkRequestView(BaseModel):
    """What the mini app's consent page shows about a store's request."""

    request_id: str
    shop_id: str
    shop_name: str
    return_host: str  # shown: where the browser goes back to
    return_origin: str  # scheme://host[:port], for the page's form-action
    linked: bool


class ShopperWalletOut(BaseModel):
    shopper_id: str
    shop_id: str
    balance: int = fen_field()


class ShopperCouponsOut(BaseModel):
    shopper_id: str
    shop_id: str
    coupons: list[CouponOut]
