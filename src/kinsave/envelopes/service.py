"""Lucky and equal envelopes: create, view, audit, list, and the escrow check.

Scarcity lives in the database: shares are split when the envelope is created and stored; a grab
(grabs.py) takes one unclaimed share row, whose (envelope, grabber) is unique. Money moves only
through ledger transfers whose keys derive from those rows. The daily red envelope is daily.py;
expiry refunds are expiry.py.
"""

import random
import secrets
from datetime import timedelta

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.config import Settings
from kinsave.db import utcnow
from kinsave.envelopes import split as splitting
from kinsave.envelopes.models import Envelope, EnvelopeShare
from kinsave.envelopes.schemas import (
    EnvelopeAuditOut,
    EnvelopeIn,
    EnvelopeListOut,
    EnvelopeOut,
    EnvelopeSummaryOut,
    GrabberOut,
    ShareAuditOut,
    ShopperEnvelopeIn,
)
from kinsave.errors import KinsaveError
from kinsave.ledger import keys
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind

_system_random = random.SystemRandom()


def create_shopper_envelope(
    session: Session, settings: Settings, shopper_id: str, data: ShopperEnvelopeIn
) -> EnvelopeOut:
    """Fund an envelope from the shopper's wallet at one shop; its shares land as that shop's
    credit. Errors: invalid_amount, insufficient_funds, invalid_request (no shop_id while the
    sender holds credit of several shops)."""
    shop_id = data.shop_id or _only_shop_with_credit(session, shopper_id)
    wallet = ledger.find_account(session, AccountKind.WALLET, shopper_id, shop_id)
    if wallet is None:  # never held this shop's credit (or no such shop)
        raise KinsaveError("insufficient_funds", "not enough money in the paying account")
    envelope = _create(
        session, settings, data, funder_account_id=wallet, shop_id=shop_id, sender=shopper_id
    )
    return envelope_view(session, envelope.id, viewer=shopper_id)


def _only_shop_with_credit(session: Session, shopper_id: str) -> str:
    shops = [b.shop_id for b in ledger.wallet_balances(session, shopper_id) if b.balance > 0]
    if not shops:
        raise KinsaveError("insufficient_funds", "not enough money in the paying account")
    if len(shops) > 1:
        raise KinsaveError("invalid_request", "say whose credit funds the envelope: shop_id")
    return shops[0]


def create_campaign_envelope(
    session: Session, settings: Settings, shop_id: str, campaign_id: str, data: EnvelopeIn
) -> EnvelopeOut:
    """A shop or influencer envelope paid from a campaign budget. Errors: budget_exhausted."""
    budget = campaigns.campaign_budget_account(session, shop_id, campaign_id)
    envelope = _create(
        session,
        settings,
        data,
        funder_account_id=budget,
        shop_id=shop_id,
        campaign_id=campaign_id,
        insufficient_code="budget_exhausted",
    )
    return envelope_view(session, envelope.id, viewer=None)


def _create(
    session: Session,
    settings: Settings,
    data: EnvelopeIn,
    *,
    funder_account_id: int,
    shop_id: str,
    sender: str | None = None,
    campaign_id: str | None = None,
    insufficient_code: str = "insufficient_funds",
) -> Envelope:
    _check_amounts(settings, data.total, data.shares)
    now = utcnow()
    envelope_id = "env_" + secrets.token_hex(8)
    seed = str(_system_random.getrandbits(64))
    amounts = splitting.split(data.kind, data.total, data.shares, random.Random(seed))
    escrow = ledger.open_account(session, AccountKind.ENVELOPE_ESCROW, envelope_id, shop_id)
    envelope = Envelope(
        id=envelope_id,
        kind=data.kind,
        total=data.total,
        share_count=data.shares,
        message=data.message,
        sender_shopper_id=sender,
        campaign_id=campaign_id,
        funder_account_id=funder_account_id,
        escrow_account_id=escrow,
        split_seed=seed,
        status="open",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.envelope_ttl_seconds),
    )
    session.add(envelope)
    session.flush()
    session.execute(
        insert(EnvelopeShare),
        [{"envelope_id": envelope_id, "seq": i, "amount": a} for i, a in enumerate(amounts, 1)],
    )
    ledger.transfer(
        session,
        from_account_id=funder_account_id,
        to_account_id=escrow,
        amount=data.total,
        kind="envelope_funding",
        key=keys.envelope_funding(envelope_id),
        reference=envelope_id,
        insufficient_code=insufficient_code,
        now=now,
    )
    return envelope


def _check_amounts(settings: Settings, total: int, shares: int) -> None:
    if not 1 <= shares <= settings.envelope_max_shares:
        raise KinsaveError(
            "invalid_amount", f"shares must be between 1 and {settings.envelope_max_shares}"
        )
    if not shares <= total <= settings.envelope_max_total:
        raise KinsaveError(
            "invalid_amount",
            f"total must be at least 1 per share and at most {settings.envelope_max_total}",
        )


def envelope_view(session: Session, envelope_id: str, *, viewer: str | None) -> EnvelopeOut:
    """Who grabbed how much and when, the luckiest, and what remains."""
    envelope = session.get(Envelope, envelope_id)
    if envelope is None:
        raise KinsaveError("not_found", "no such envelope")
    shares = session.execute(
        select(EnvelopeShare).where(EnvelopeShare.envelope_id == envelope_id)
    ).scalars()
    grabbed = [s for s in shares if s.grabbed_by is not None]
    refunded = session.execute(
        select(func.coalesce(func.sum(EnvelopeShare.amount), 0)).where(
            EnvelopeShare.envelope_id == envelope_id, EnvelopeShare.refunded_at.is_not(None)
        )
    ).scalar_one()
    grabbed.sort(key=lambda s: (s.grabbed_at, s.seq))
    # Ties go to whoever grabbed first, as in the hosts' own envelopes.
    luckiest = max(grabbed, key=lambda s: (s.amount, -s.seq)) if grabbed else None
    names = auth.display_names(session, [s.grabbed_by for s in grabbed if s.grabbed_by])
    grabbed_amount = sum(s.amount for s in grabbed)
    return EnvelopeOut(
        id=envelope.id,
        shop_id=ledger.shop_of(session, envelope.escrow_account_id),
        kind=envelope.kind,
        total=envelope.total,
        shares=envelope.share_count,
        message=envelope.message,
        sender_shopper_id=envelope.sender_shopper_id,
        campaign_id=envelope.campaign_id,
        status=envelope.status,
        created_at=envelope.created_at,
        expires_at=envelope.expires_at,
        grabbed_shares=len(grabbed),
        grabbed_amount=grabbed_amount,
        remaining_shares=0 if envelope.status != "open" else envelope.share_count - len(grabbed),
        remaining_amount=envelope.total - grabbed_amount - int(refunded),
        refunded_amount=int(refunded),
        grabs=[
            GrabberOut(
                shopper_id=s.grabbed_by or "",
                display_name=names.get(s.grabbed_by or "", s.grabbed_by or ""),
                amount=s.amount,
                grabbed_at=s.grabbed_at or envelope.created_at,
                luckiest=s is luckiest,
            )
            for s in grabbed
        ],
        luckiest_shopper_id=luckiest.grabbed_by if luckiest else None,
        luckiest_is_final=envelope.status != "open" or len(grabbed) == envelope.share_count,
        my_amount=next((s.amount for s in grabbed if s.grabbed_by == viewer), None),
    )


def audit_envelope(session: Session, envelope_id: str) -> EnvelopeAuditOut:
    """Replay the split from its seed and compare it with the stored shares and the escrow."""
    envelope = session.get(Envelope, envelope_id)
    if envelope is None:
        raise KinsaveError("not_found", "no such envelope")
    shares = (
        session.execute(
            select(EnvelopeShare)
            .where(EnvelopeShare.envelope_id == envelope_id)
            .order_by(EnvelopeShare.seq)
        )
        .scalars()
        .all()
    )
    replay = splitting.split(
        envelope.kind, envelope.total, envelope.share_count, random.Random(envelope.split_seed)
    )
    open_amount = sum(s.amount for s in shares if s.grabbed_by is None and s.refunded_at is None)
    escrow = ledger.balance(session, envelope.escrow_account_id)
    return EnvelopeAuditOut(
        envelope_id=envelope_id,
        split_seed=envelope.split_seed,
        shares=[
            ShareAuditOut(
                seq=s.seq,
                amount=s.amount,
                grabbed_by=s.grabbed_by,
                grabbed_at=s.grabbed_at,
                refunded_at=s.refunded_at,
            )
            for s in shares
        ],
        replay_matches=replay == [s.amount for s in shares],
        escrow_balance=escrow,
        escrow_matches_open_shares=escrow == open_amount,
    )


def audit_shop_envelope(session: Session, shop_id: str, envelope_id: str) -> EnvelopeAuditOut:
    """The audit of an envelope paid from one of this shop's campaigns; others are not found."""
    envelope = session.get(Envelope, envelope_id)
    if envelope is None or envelope.campaign_id is None:
        raise KinsaveError("not_found", "no such shop envelope")
    campaigns.owned_campaign(session, shop_id, envelope.campaign_id)
    return audit_envelope(session, envelope_id)


def list_shop_envelopes(
    session: Session, shop_id: str, *, campaign_id: str | None, limit: int, offset: int
) -> EnvelopeListOut:
    """The shop's envelopes (paid from its campaigns), newest first, one page at a time."""
    owned = campaigns.campaign_ids(session, shop_id)
    if campaign_id is not None:
        owned = [campaign_id] if campaign_id in owned else []
    grabbed = func.count(EnvelopeShare.grabbed_by)
    grabbed_amount = func.coalesce(
        func.sum(case((EnvelopeShare.grabbed_by.is_not(None), EnvelopeShare.amount), else_=0)), 0
    )
    rows = session.execute(
        select(Envelope, grabbed, grabbed_amount)
        .join(EnvelopeShare, EnvelopeShare.envelope_id == Envelope.id)
        .where(Envelope.campaign_id.in_(owned))
        .group_by(Envelope.id)
        .order_by(Envelope.created_at.desc(), Envelope.id)
        .limit(limit + 1)
        .offset(offset)
    ).all()
    return EnvelopeListOut(
        envelopes=[
            EnvelopeSummaryOut(
                id=e.id,
                kind=e.kind,
                total=e.total,
                shares=e.share_count,
                message=e.message,
                campaign_id=e.campaign_id,
                status=e.status,
                created_at=e.created_at,
                expires_at=e.expires_at,
                grabbed_shares=int(count),
                grabbed_amount=int(amount),
            )
            for e, count, amount in rows[:limit]
        ],
        next_offset=offset + limit if len(rows) > limit else None,
    )


def escrow_problems(session: Session) -> list[str]:
    """Envelopes whose escrow balance differs from the sum of their still-open shares."""
    open_amount = func.coalesce(
        func.sum(
            case(
                (
                    EnvelopeShare.grabbed_by.is_(None) & EnvelopeShare.refunded_at.is_(None),
                    EnvelopeShare.amount,
                ),
                else_=0,
            )
        ),
        0,
    )
    rows = session.execute(
        select(Envelope.id, Account.balance, open_amount)
        .join(Account, Account.id == Envelope.escrow_account_id)
        .join(EnvelopeShare, EnvelopeShare.envelope_id == Envelope.id)
        .group_by(Envelope.id, Account.balance)
    )
    return [
        f"envelope {envelope_id}: escrow holds {held}, open shares add up to {expected}"
        for envelope_id, held, expected in rows
        if held != expected
    ]


def envelope_exists(session: Session, envelope_id: str) -> bool:
    """Whether an envelope with this id was ever created (what a share of it points to)."""
    return session.get(Envelope, envelope_id) is not None
