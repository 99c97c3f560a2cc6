"""Requests and answers of the store's server-to-server checkout API."""

from datetime import datetime

from pydantic import BaseModel, Field

MAX_MONEY = 10**10
CHANNEL_FIELD = Field(
    default=None,
    min_length=1,
    max_length=32,
    description="The channel of the visit (a resolved share's `channel`); default: web",
)
PAYMENT_METHOD = r"^[a-z0-9_]{1,32}$"


class CartLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000)
    unit_price: int = Field(ge=0, le=MAX_MONEY)


class QuoteIn(BaseModel):
    shopper_id: str = Field(min_length=1, max_length=128)
    lines: list[CartLineIn] = Field(min_length=1, max_length=200)
    shipping_fee: int = Field(default=0, ge=0, le=MAX_MONEY)
    use_credit: int = Field(default=0, ge=0, le=MAX_MONEY)
    channel: str | None = CHANNEL_FIELD


class QuotedLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price: int
    gross: int
    discount: int
    credit: int
    to_pay: int
    coupon_discounts: dict[str, int]


class ExplanationOut(BaseModel):
    coupon_id: str
    name: str
    used: bool
    discount: int
    reason: str
    message: str
    shortfall: int
    hint: str | None


class QuoteOut(BaseModel):
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
    lines: list[QuotedLineOut]
    explanations: list[ExplanationOut]
    hint: str | None
    channel: str
    payment_methods: list[str]  # what the channel allows; "wallet" is the credit above


class ReserveIn(BaseModel):
    order_id: str = Field(min_length=1, max_length=64)
    shopper_id: str = Field(min_length=1, max_length=128)
    lines: list[CartLineIn] = Field(min_length=1, max_length=200)
    shipping_fee: int = Field(default=0, ge=0, le=MAX_MONEY)
    coupons: list[str] = Field(default_factory=list, max_length=20)
    use_credit: int = Field(default=0, ge=0, le=MAX_MONEY)
    channel: str | None = CHANNEL_FIELD


class PaidIn(BaseModel):
    attribution: str | None = Field(default=None, max_length=200)
    payment_method: str | None = Field(
        default=None,
        pattern=PAYMENT_METHOD,
        description="How the store took the payment; one the order's channel forbids is refused",
    )


class RefundLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000)


class RefundIn(BaseModel):
    """No lines: refund everything not refunded yet. refund_id names the refund (else the body)."""

    refund_id: str | None = Field(default=None, min_length=1, max_length=64)
    lines: list[RefundLineIn] | None = Field(default=None, max_length=200)


class OrderLineOut(BaseModel):
    position: int
    sku: str
    quantity: int
    unit_price: int
    discount: int
    credit: int
    to_pay: int
    refunded_quantity: int
    coupon_discounts: dict[str, int]


class OrderOut(BaseModel):
    order_id: str
    shop_id: str
    shopper_id: str
    status: str
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
    lines: list[OrderLineOut]
    reserved_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class RefundedLineOut(BaseModel):
    position: int
    sku: str
    quantity: int
    amount: int  # cash the store returns for these units
    credit: int  # credit returned to the wallet for these units
    discount: int  # coupon discount these units had


class RefundOut(BaseModel):
    order_id: str
    shop_id: str
    shopper_id: str
    refund_id: str
    amount: int
    credit_returned: int
    shipping_refunded: int
    lines: list[RefundedLineOut]
    coupons_restored: list[str]
    order_status: str


class ReservationReleaseReport(BaseModel):
    released: int
