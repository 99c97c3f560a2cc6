from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from kinsave.money import FEN, fen_field

# The largest amount any request may carry: a quadrillion minor units, far beyond any shop, below
# 2^53 (exact in JavaScript clients) and 2^63 (a BIGINT), so sums of a few never overflow a column.
MAX_AMOUNT = 10**15
# Minor units; JSON floats and strings are refused, never rounded; beyond MAX_AMOUNT -> 422.
Money = Annotated[StrictInt, Field(le=MAX_AMOUNT, description=FEN)]


class ShopBalance(BaseModel):
    """A shopper's credit issued by one shop: spendable only at that shop's checkout."""

    shop_id: str
    balance: int = fen_field()
    currency: str


class ShopBalanceOut(ShopBalance):
    shop_name: str


class WalletOut(BaseModel):
    """A shopper's wallet: one balance per shop whose credit they hold. There is no total: credit
    of one shop is worth nothing at another, so a sum would mislead."""

    shopper_id: str
    balances: list[ShopBalanceOut]


class HistoryEntryOut(BaseModel):
    transfer_id: int
    shop_id: str  # the shop whose credit moved
    amount: int = fen_field(description="signed: positive when money came in")
    kind: str
    reference: str | None
    counterparty_kind: str
    created_at: datetime


class HistoryOut(BaseModel):
    entries: list[HistoryEntryOut]
    next_before: int | None


class AccountMismatch(BaseModel):
    account_id: int
    kind: str
    owner_id: str
    stored_balance: int
    computed_balance: int


class ReconcileReport(BaseModel):
    accounts: int
    transfers: int
    total_moved: int
    sum_of_balances: int
    mismatches: list[AccountMismatch]
    negative_accounts: list[int]
    # Each shop's accounts sum to zero on their own: money never crosses shops.
    unbalanced_shops: dict[str, int] = {}
    cross_shop_transfers: list[int] = []
    domain_problems: list[str] = []

    @property
    def clean(self) -> bool:
        return (
            self.sum_of_balances == 0
            and not self.unbalanced_shops
            and not self.cross_shop_transfers
            and not self.mismatches
            and not self.negative_accounts
            and not self.domain_problems
        )


class WalletCreditOut(BaseModel):
    """Money that landed in a shopper's wallet (a claim, a grab, a reward)."""

    shopper_id: str
    shop_id: str
    amount: int
    kind: str
    reference: str | None
    created_at: datetime
