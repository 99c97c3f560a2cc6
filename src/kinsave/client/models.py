"""The store API's answers (and the few bodies a store builds) as typed, frozen objects.

Kept by hand beside the client, not imported from kinsave's server packages, so that a store needs
only this package, httpx, stamina and pydantic. tests/client/test_client_models.py checks every
model against /openapi.json (field names, types, which are required), so they cannot drift from
the API without a failing test.

Two choices make an older client keep working against a newer kinsave: fields kinsave adds are
ignored (`extra="ignore"`), and fields that the API documents as a closed set of strings (a
coupon's state, a target's type) are plain `str` here, so a new value is not a crash.
Money is an `int` of minor units (fen) everywhere, as in the API.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """What kinsave answered: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Body(BaseModel):
    """What a store sends: immutable, and a typo in a field name is an error here, not a field
    kinsave silently never sees."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# What the store sends -------------------------------------------------------------------------


class CartLine(Body):
    sku: str
    quantity: int
    unit_price: int  # the store's own price, fen


class RefundLine(Body):
    sku: str
    quantity: int


class ProductUpsert(Body):
    """One catalog entry for `push_products` (the store is the source of truth for prices)."""

    sku: str
    title: str
    price: int
    category: str
    image_url: str | None = None
    in_stock: bool = True


class LandingTemplates(Body):
    """Where shares land in the store, per target kind: URL templates with `{id}` and `{code}`."""

    product: str | None = None
    coupon: str | None = None
    envelope: str | None = None
    help: str | None = None
    home: str | None = None


# What kinsave answers ---------------------------------------------------------------------------


class Product(Answer):
    shop_id: str
    sku: str
    title: str
    price: int
    category: str
    image_url: str | None
    in_stock: bool
    updated_at: datetime


class ProductPage(Answer):
    products: list[Product]
    total: int
    limit: int
    offset: int


class Upserted(Answer):
    upserted: int


class Landing(Answer):
    product: str | None = None
    coupon: str | None = None
    envelope: str | None = None
    help: str | None = None
    home: str | None = None
    updated_at: datetime | None


class StoreVisit(Answer):
    share_code: str | None  # the share the visit counts for; None if none


class Target(Answer):
    type: str  # deal | coupon | envelope | help
    id: str


class OfferedCoupon(Answer):
    template_id: str
    name: str


class CouponScope(Answer):
    kind: str
    values: list[str]
    min_spend: int


class Coupon(Answer):
    id: str
    template_id: str
    shop_id: str
    name: str
    kind: str
    amount: int
    percent: int
    cap: int
    threshold: int
    scope: CouponScope
    stacking_group: str
    credit_combinable: bool
    state: str  # available | reserved | used | expired
    claimed_at: datetime
    expires_at: datetime


class ResolvedToken(Answer):
    """A share token resolved for the store: what it points to, the attribution handle for the
    order, and the coupon it carried (claimed for the shopper, or why not)."""

    code: str
    target: Target
    attribution: str
    campaign_id: str | None
    channel: str
    landing_url: str | None = None
    offered_coupon: OfferedCoupon | None = None
    claimed_coupons: list[Coupon] = []
    coupon_refusal: str | None = None


class LinkRequest(Answer):
    request_id: str
    authorize_url: str
    expires_at: datetime


class StoreLink(Answer):
    shopper_id: str
    linked_at: datetime


class Wallet(Answer):
    shopper_id: str
    shop_id: str
    balance: int


class ShopperCoupons(Answer):
    shopper_id: str
    shop_id: str
    coupons: list[Coupon]


class QuotedLine(Answer):
    sku: str
    quantity: int
    unit_price: int
    gross: int
    discount: int
    credit: int
    to_pay: int
    coupon_discounts: dict[str, int]


class Explanation(Answer):
    """Why a coupon was or was not used in a quote (`message` is for the shopper)."""

    coupon_id: str
    name: str
    used: bool
    discount: int
    reason: str
    message: str
    shortfall: int
    hint: str | None


class Quote(Answer):
    shopper_id: str
    subtotal: int
    shipping_fee: int
    shipping_discount: int
    discount: int
    credit: int
    wallet_balance: int
    total_to_pay: int
    coupons: list[str]
    coupon_discounts: dict[str, int]
    lines: list[QuotedLine]
    explanations: list[Explanation]
    hint: str | None
    channel: str
    payment_methods: list[str]


class OrderLine(Answer):
    position: int
    sku: str
    quantity: int
    unit_price: int
    discount: int
    credit: int
    to_pay: int
    refunded_quantity: int
    coupon_discounts: dict[str, int]


class Order(Answer):
    order_id: str
    shop_id: str
    shopper_id: str
    status: str  # reserved | paid | cancelled | expired | partially_refunded | refunded
    coupons: list[str]
    subtotal: int
    shipping_fee: int
    shipping_discount: int
    discount: int
    credit: int
    total_to_pay: int
    attribution: str | None
    channel: str
    payment_method: str | None
    lines: list[OrderLine]
    reserved_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class RefundedLine(Answer):
    position: int
    sku: str
    quantity: int
    amount: int  # cash the store returns for these units
    credit: int  # credit returned to the wallet for these units
    discount: int  # the coupon discount these units had


class Refund(Answer):
    order_id: str
    shop_id: str
    shopper_id: str
    refund_id: str
    amount: int
    credit_returned: int
    shipping_refunded: int
    lines: list[RefundedLine]
    coupons_restored: list[str]
    order_status: str


class WebhookEvent(Answer):
    """A webhook's body (docs/webhooks.md): `id` is the same on every retry and resend, so a
    receiver drops repeats by it; `data` is the event's own fields (an order's id, ...)."""

    id: str
    event: str  # order.paid, order.refunded, ...
    created_at: datetime
    data: dict[str, Any]
