from typing import Annotated

from fastapi import APIRouter, Query

from kinsave.api import ReadSession
from kinsave.auth.deps import CurrentShopper
from kinsave.errors import KinsaveError
from kinsave.ledger import service
from kinsave.ledger.schemas import HistoryOut, WalletOut

router = APIRouter(prefix="/v1", tags=["wallet"])


@router.get("/wallet", response_model=WalletOut)
def get_wallet(shopper: CurrentShopper, session: ReadSession) -> WalletOut:
    """The shopper's credit, one balance per shop: each is spendable only at that shop."""
    return _wallet(session, shopper.shopper_id)


@router.get("/shoppers/{shopper_id}/wallet", response_model=WalletOut)
def get_shopper_wallet(shopper_id: str, shopper: CurrentShopper, session: ReadSession) -> WalletOut:
    """A shopper may read only their own wallet."""
    if shopper_id != shopper.shopper_id:
        raise KinsaveError("forbidden", "you can only see your own wallet")
    return _wallet(session, shopper_id)


@router.get("/wallet/history", response_model=HistoryOut)
def get_wallet_history(
    shopper: CurrentShopper,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
    shop_id: Annotated[str | None, Query(max_length=40)] = None,
) -> HistoryOut:
    """The wallet's transfers, newest first; `shop_id` keeps one shop's credit only."""
    return service.wallet_history(
        session, shopper.shopper_id, shop_id=shop_id, limit=limit, before=before
    )


def _wallet(session: ReadSession, shopper_id: str) -> WalletOut:
    return service.wallet(session, shopper_id)
