"""Requests and answers of the store's server-to-server checkout API."""

from datetime import datetime

from pydantic import BaseModel, Field

from kinsave.money import fen_field

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
    unit_price: int = fen_field(ge=0, le=MAX_MONEY)


class QuoteIn(BaseModel):
    shopper_id: str = Field(min_length=1, max_length=128)
    lines: list[CartLineIn] = Field(min_length=1, max_length=200)
    shipping_fee: int = fen_field(default=0, ge=0, le=MAX_MONEY)
    use_credit: int = fen_field(default=0, ge=0, le=MAX_MONEY)
    channel: str | None = CHANNEL_FIELD


class QuotedLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price: int = fen_field()
    gross: int = fen_field()
    discount: int = fen_field()
    credit: int = fen_field()
    to_pay: int = fen_field()
    coupon_discounts: dict[str, int]


class ExplanationOut(BaseModel):
    coupon_id: str
    name: str
    used: bool
    discount: int = fen_field()
    reason: str
    message: str
    shortfall: int = fen_field()
    hint: str | None


class QuoteOut(BaseModel):
    shopper_id: str
    subtotal: int = fen_field()
    shipping_fee: int = fen_field()
    shipping_discount: int = fen_field()
    discount: int = fen_field()
    credit: int = fen_field()
    wallet_balance: int = fen_field()
    total_to_pay: int = fen_field()
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
    shipping_fee: int = fen_field(default=0, ge=0, le=MAX_MONEY)
    coupons: list[str] = Field(default_factory=list, max_length=20)
    use_credit: int = fen_field(default=0, ge=0, le=MAX_MONEY)
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
    unit_price: int = fen_field()
    discount: int = fen_field()
    credit: int = fen_field()
    to_pay: int = fen_field()
    refunded_quantity: int
    coupon_discounts: dict[str, int]


class OrderOut(BaseModel):
    order_id: str
    shop_id: str
    shopper_id: str
    status: str
    coupons: list[str]
    subtotal: int = fen_field()
    shipping_fee: int = fen_field()
    shipping_discount: int = fen_field()
    discount: int = fen_field()
    credit: int = fen_field()
    total_to_pay: int = fen_field()
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
    amount: int = fen_field(description="cash the store returns for these units")
    credit: int = fen_field(description="credit returned to the wallet for these units")
    discount: int = fen_field(description="coupon discount these units had")


class RefundOut(BaseModel):
    order_id: str
    shop_id: str
    shopper_id: str
    refund_id: str
    amount: int = fen_field()
    credit_returned: int = fen_field()
    shipping_refunded: int = fen_field()
    lines: list[RefundedLineOut]
    coupons_restored: list[str]
    order_status: str


class ReservationReleaseReport(BaseModel):
    released: int
