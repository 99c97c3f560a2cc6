"""Help requests: "ask N people to help within T hours to unlock a reward", on the terms of a
help offer (help_offers.py).

Guarantees, all held by the database rather than by Python checks:
- the terms are copied onto the request when it starts and never change;
- the reward is reserved from the campaign budget into the request's escrow at the start, and
  leaves escrow exactly once: to the requester on the N-th help, or back to the budget on expiry;
- a helper helps a request once (unique (request, helper)) and fills at most K slots a local day
  (unique (helper, day, slot), slot 1..K);
- the help counter moves by a conditional UPDATE (helped < needed, still open, before the
  deadline), so racing helps can never exceed N and exactly one of them reaches N and pays.
"""

import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.models import Campaign
from kinsave.db import utcnow
from kinsave.errors import KinsaveError, register_codes
from kinsave.ledger import keys
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind
from kinsave.social import expiry
from kinsave.social import service as circle
from kinsave.social.models import Help, HelpOffer, HelpRequest
from kinsave.social.schemas import (
    HelperOut,
    HelpOut,
    HelpRequestOut,
)

register_codes(
    {
        "help_already_given": 409,
        "help_limit_reached": 409,
        "help_self_not_allowed": 403,
        "help_request_closed": 409,
        "help_request_expired": 410,
        "help_request_already_open": 409,
    }
)


def start_request(
    session: Session, offer_id: str, requester_id: str, now: datetime | None = None
) -> HelpRequestOut:
    """Start a help request: freeze the offer's terms and reserve the reward into escrow.

    One open request per shopper per offer (a unique partial index); the shopper's own request
    that is past its deadline but not yet swept is expired (and refunded) first.
    Errors: not_found, campaign_not_active, help_request_already_open, budget_exhausted
    (nothing is reserved then).
    """
    now = now or utcnow()
    offer = session.get(HelpOffer, offer_id)
    if offer is None:
        raise KinsaveError("not_found", "no such help offer")
    campaign = campaigns.running_campaign(session, offer.campaign_id, now)
    _expire_own_overdue(session, offer_id, requester_id, now)
    request_id = "hlp_" + secrets.token_hex(8)
    escrow = ledger.open_account(session, AccountKind.HELP_ESCROW, request_id, campaign.shop_id)
    _insert_request(session, _frozen_terms(request_id, offer, campaign, requester_id, escrow, now))
    ledger.transfer(
        session,
        from_account_id=campaign.budget_account_id,
        to_account_id=escrow,
        amount=offer.reward,
        kind="help_escrow",
        key=keys.help_escrow(request_id),
        reference=request_id,
        insufficient_code="budget_exhausted",
        now=now,
    )
    return request_view(session, request_id, now=now)


def _frozen_terms(
    request_id: str,
    offer: HelpOffer,
    campaign: Campaign,
    requester_id: str,
    escrow_account_id: int,
    now: datetime,
) -> HelpRequest:
    """The new request, with the offer's terms copied: later offer changes never reach it."""
    return HelpRequest(
        id=request_id,
        offer_id=offer.id,
        campaign_id=campaign.id,
        requester_id=requester_id,
        helpers_needed=offer.helpers_needed,
        hours=offer.hours,
        reward=offer.reward,
        daily_help_limit=offer.daily_help_limit,
        timezone=campaign.timezone,
        helped=0,
        state="open",
        budget_account_id=campaign.budget_account_id,
        escrow_account_id=escrow_account_id,
        created_at=now,
        deadline_at=now + timedelta(hours=offer.hours),
    )


def _insert_request(session: Session, request: HelpRequest) -> None:
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError:
        raise KinsaveError(
            "help_request_already_open", "you already have an open request for this offer"
        ) from None


def _expire_own_overdue(session: Session, offer_id: str, requester_id: str, now: datetime) -> None:
    for request_id in expiry.own_overdue(session, HelpRequest, offer_id, requester_id, now):
        expire_request(session, request_id, now)


def give_help(
    session: Session, request_id: str, helper_id: str, now: datetime | None = None
) -> HelpOut:
    """Record one help; the help that reaches N pays the reward from escrow, exactly once.

    Helping also links helper and requester in the circle.
    Errors: not_found, help_self_not_allowed, help_already_given, help_request_closed,
    help_request_expired, help_limit_reached. A refused help changes nothing.
    """
    now = now or utcnow()
    request = session.get(HelpRequest, request_id)
    if request is None:
        raise KinsaveError("not_found", "no such help request")
    if request.requester_id == helper_id:
        raise KinsaveError("help_self_not_allowed", "you cannot help your own request")
    if _has_helped(session, request_id, helper_id):
        raise KinsaveError("help_already_given", "you already helped this request")
    _refuse_if_closed(request.state, request.deadline_at, now)
    local_day = now.astimezone(ZoneInfo(request.timezone)).date()
    _take_daily_slot(session, request, helper_id, local_day, now)
    counted = session.execute(
        update(HelpRequest)
        .where(
            HelpRequest.id == request_id,
            HelpRequest.state == "open",
            HelpRequest.helped < HelpRequest.helpers_needed,
            HelpRequest.deadline_at > now,
        )
        .values(helped=HelpRequest.helped + 1)
        .returning(HelpRequest.helped, HelpRequest.helpers_needed)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if counted is None:
        # Another help filled the last slot (or the deadline passed) while we waited our turn.
        fresh = session.execute(
            select(HelpRequest.state, HelpRequest.deadline_at).where(HelpRequest.id == request_id)
        ).one()
        _refuse_if_closed(fresh.state, fresh.deadline_at, now)
        raise KinsaveError("help_request_closed", "this request already has all its helpers")
    helped, needed = counted
    reward_paid = _pay_reward(session, request, now) if helped == needed else None
    circle.link_relatives(session, helper_id, request.requester_id, via="help")
    return HelpOut(
        request_id=request_id,
        helped=helped,
        helpers_needed=needed,
        state="completed" if reward_paid is not None else "open",
        reward_paid=reward_paid,
    )


def _refuse_if_closed(state: str, deadline_at: datetime, now: datetime) -> None:
    expiry.refuse_if_closed(
        state,
        deadline_at,
        now,
        completed="this request is already unlocked",
        expired="this request's time is up",
    )


def _has_helped(session: Session, request_id: str, helper_id: str) -> bool:
    return (
        session.execute(
            select(Help.id).where(Help.request_id == request_id, Help.helper_id == helper_id)
        ).first()
        is not None
    )


def _take_daily_slot(
    session: Session, request: HelpRequest, helper_id: str, local_day: date, now: datetime
) -> None:
    """Insert the help into a free (helper, day, slot); the unique index refuses slot K+1."""
    used = set(
        session.execute(
            select(Help.slot).where(Help.helper_id == helper_id, Help.local_day == local_day)
        ).scalars()
    )
    for slot in range(1, request.daily_help_limit + 1):
        if slot in used:
            continue
        try:
            with session.begin_nested():
                session.execute(
                    insert(Help).values(
                        request_id=request.id,
                        helper_id=helper_id,
                        local_day=local_day,
                        slot=slot,
                        helped_at=now,
                    )
                )
            return
        except IntegrityError:
            # A concurrent help by the same helper took this slot, or this very request.
            if _has_helped(session, request.id, helper_id):
                raise KinsaveError(
                    "help_already_given", "you already helped this request"
                ) from None
    raise KinsaveError(
        "help_limit_reached", f"you can help at most {request.daily_help_limit} requests a day"
    )


def _pay_reward(session: Session, request: HelpRequest, now: datetime) -> int:
    session.execute(
        update(HelpRequest)
        .where(HelpRequest.id == request.id)
        .values(state="completed", closed_at=now)
        .execution_options(synchronize_session=False)
    )
    ledger.transfer(
        session,
        from_account_id=request.escrow_account_id,
        # The reward is credit of the campaign's shop, the shop of the request's escrow.
        to_account_id=ledger.wallet_account(
            session, request.requester_id, ledger.shop_of(session, request.escrow_account_id)
        ),
        amount=request.reward,
        kind="help_reward",
        key=keys.help_reward(request.id),
        reference=request.id,
        now=now,
    )
    return request.reward


def request_view(session: Session, request_id: str, now: datetime | None = None) -> HelpRequestOut:
    """The request with its frozen terms, who helped, and its state (expired once past due)."""
    now = now or utcnow()
    request = session.get(HelpRequest, request_id)
    if request is None:
        raise KinsaveError("not_found", "no such help request")
    session.refresh(request)
    helps = (
        session.execute(select(Help).where(Help.request_id == request_id).order_by(Help.id))
        .scalars()
        .all()
    )
    names = auth.display_names(session, [h.helper_id for h in helps])
    return HelpRequestOut(
        id=request.id,
        offer_id=request.offer_id,
        campaign_id=request.campaign_id,
        requester_id=request.requester_id,
        helpers_needed=request.helpers_needed,
        helped=request.helped,
        helpers_remaining=request.helpers_needed - request.helped,
        helpers=[
            HelperOut(
                shopper_id=h.helper_id,
                display_name=names.get(h.helper_id, h.helper_id),
                helped_at=h.helped_at,
            )
            for h in helps
        ],
        reward=request.reward,
        hours=request.hours,
        daily_help_limit=request.daily_help_limit,
        state=expiry.shown_state(request.state, request.deadline_at, now),
        created_at=request.created_at,
        deadline_at=request.deadline_at,
        closed_at=request.closed_at,
    )


def due_for_expiry(session: Session, now: datetime, limit: int = 200) -> list[str]:
    return expiry.due_for_expiry(session, HelpRequest, now, limit)


def expire_request(session: Session, request_id: str, now: datetime) -> int | None:
    """Close an unfinished request past its deadline and refund its escrow to the budget.

    Exactly once, even with several sweepers: only the one whose conditional UPDATE flips the
    state refunds. Returns the refunded amount, or None when it was not (or no longer) due.
    """
    closed = expiry.close_if_overdue(
        session,
        HelpRequest,
        request_id,
        now,
        HelpRequest.escrow_account_id,
        HelpRequest.budget_account_id,
        HelpRequest.reward,
    )
    if closed is None:
        return None
    ledger.transfer(
        session,
        from_account_id=closed.escrow_account_id,
        to_account_id=closed.budget_account_id,
        amount=closed.reward,
        kind="help_refund",
        key=keys.help_refund(request_id),
        reference=request_id,
        now=now,
    )
    return int(closed.reward)


def escrow_problems(session: Session) -> list[str]:
    """Help requests whose escrow is not exactly the reward while open, and empty once closed."""
    rows = session.execute(
        select(HelpRequest.id, HelpRequest.state, HelpRequest.reward, Account.balance).join(
            Account, Account.id == HelpRequest.escrow_account_id
        )
    )
    return [
        f"help request {request_id} ({state}): escrow holds {held}, expected {expected}"
        for request_id, state, reward, held in rows
        if held != (expected := reward if state == "open" else 0)
    ]


def request_exists(session: Session, request_id: str) -> bool:
    """Whether a help request with this id was ever started (what a share of it points to)."""
    return session.get(HelpRequest, request_id) is not None


def request_shop(session: Session, request_id: str) -> str | None:
    """The shop whose campaign pays the request's reward, or None for an unknown request."""
    return session.execute(
        select(HelpOffer.shop_id)
        .join(HelpRequest, HelpRequest.offer_id == HelpOffer.id)
        .where(HelpRequest.id == request_id)
    ).scalar_one_or_none()
