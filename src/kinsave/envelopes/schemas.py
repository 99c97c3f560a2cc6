from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from kinsave.ledger.schemas import Money
from kinsave.money import fen_field


class EnvelopeIn(BaseModel):
    # The maxima are settings (KINSAVE_ENVELOPE_MAX_TOTAL, ..._MAX_SHARES), checked by the
    # service; the OpenAPI document states the configured ones (contract.py).
    total: Money = Field(ge=1, description="Minor units (fen) to split: at least 1 per share")
    shares: StrictInt = Field(ge=1, le=10_000, description="How many people can grab a share")
    kind: Literal["lucky", "equal"] = "lucky"
    message: str = Field(default="", max_length=200)


class ShopperEnvelopeIn(EnvelopeIn):
    shop_id: str | None = Field(
        default=None,
        max_length=40,
        description="Whose credit funds the envelope (its shares land as that shop's credit); "
        "may be left out when the sender holds credit of one shop only",
    )


class GrabOut(BaseModel):
    envelope_id: str
    amount: int = fen_field()
    seq: int
    grabbed_at: datetime


class GrabberOut(BaseModel):
    shopper_id: str
    display_name: str
    amount: int = fen_field()
    grabbed_at: datetime
    luckiest: bool


class EnvelopeOut(BaseModel):
    id: str
    shop_id: str  # whose credit: the shares land as this shop's credit
    kind: str
    total: int = fen_field()
    shares: int
    message: str
    sender_shopper_id: str | None
    campaign_id: str | None
    status: str
    created_at: datetime
    expires_at: datetime
    grabbed_shares: int
    grabbed_amount: int = fen_field()
    remaining_shares: int
    remaining_amount: int = fen_field()
    refunded_amount: int = fen_field()
    grabs: list[GrabberOut]
    luckiest_shopper_id: str | None = Field(
        description="Who got the most; final once every share is grabbed or the envelope expired"
    )
    luckiest_is_final: bool
    my_amount: int | None = fen_field(None)


class ShareAuditOut(BaseModel):
    seq: int
    amount: int = fen_field()
    grabbed_by: str | None
    grabbed_at: datetime | None
    refunded_at: datetime | None


class EnvelopeAuditOut(BaseModel):
    envelope_id: str
    split_seed: str
    shares: list[ShareAuditOut]
    replay_matches: bool = Field(description="Re-running the split with the seed gives the shares")
    escrow_balance: int = fen_field()
    escrow_matches_open_shares: bool


class DailyClaimOut(BaseModel):
    campaign_id: str
    amount: int = fen_field()
    local_day: date
    claimed_at: datetime


class DailyStatusOut(BaseModel):
    campaign_id: str
    local_day: date
    claimed: bool
    amount: int | None = fen_field()


class EnvelopeSummaryOut(BaseModel):
    id: str
    kind: str
    total: int
    shares: int
    message: str
    campaign_id: str | None
    status: str
    created_at: datetime
    expires_at: datetime
    grabbed_shares: int
    grabbed_amount: int


class EnvelopeListOut(BaseModel):
    envelopes: list[EnvelopeSummaryOut]
    next_offset: int | None


class ExpiryReport(BaseModel):
    expired: int
    refunded_amount: int
