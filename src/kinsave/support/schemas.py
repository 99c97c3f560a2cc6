"""What the console's support pages read: a found shopper, and one shopper at one shop."""

from dataclasses import dataclass

from pydantic import BaseModel

from kinsave.coupons.schemas import CouponOut
from kinsave.coupons.shopper_history import OrderSummary, RefundSummary
from kinsave.ledger.schemas import HistoryEntryOut
from kinsave.money import fen_field
from kinsave.security.schemas import AuditEntryOut


@dataclass(frozen=True)
class FoundShopper:
    shopper_id: str
    display_name: str
    balance: int  # their credit at this shop, minor units


@dataclass(frozen=True)
class Adjustment:
    """A manual credit adjustment, as the audit log recorded it."""

    amount: int
    reason: str
    actor: str
    entry: AuditEntryOut


@dataclass(frozen=True)
class ShopperAtShop:
    shopper_id: str
    display_name: str
    identities: list[tuple[str, str]]  # (host, host user id)
    linked: bool  # the shop's store may act for them
    balance: int
    history: list[HistoryEntryOut]
    coupons: list[CouponOut]
    orders: list[OrderSummary]
    refunds: list[RefundSummary]
    adjustments: list[Adjustment]


class CreditAdjustmentIn(BaseModel):
    """A manual credit adjustment: positive adds credit of the shop, negative takes it back."""

    shopper_id: str
    amount: int = fen_field(description="signed: positive adds credit, negative takes it back")
    reason: str


class CreditAdjustmentOut(BaseModel):
    transfer_id: int
    amount: int = fen_field()
    balance: int = fen_field(description="the shopper's credit at the shop afterwards")
