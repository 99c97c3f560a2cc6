from typing import Annotated

from fastapi import APIRouter, Query

from kinsave.api import ReadSession
from kinsave.auth.deps import CurrentShopper
from kinsave.errors import KinsaveError
from kinsave.ledger import service
from kinsave.ledger.models import AccountKind
from kinsave.ledger.schemas import HistoryOut, WalletOut

router = APIRouter(prefix="/v1", tags=["wallet"])


@router.get("/wallet", response_model=WalletOut)
def get_wallet(shopper: CurrentShopper, session: ReadSession) -> WalletOut:
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
) -> HistoryOut:
    account = service.find_account(session, AccountKind.WALLET, shopper.shopper_id)
    if account is None:
        return HistoryOut(entries=[], next_before=None)
    return service.history(session, account, limit=limit, before=before)


def _wallet(session: ReadSession, shopper_id: str) -> WalletOut:
    return WalletOut(
        shopper_id=shopper_id,
        balance=service.balance_of(session, AccountKind.WALLET, shopper_id),
        currency=service.DEFAULT_CURRENCY,
    )
