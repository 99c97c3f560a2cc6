"""Price cuts with friends (砍价): "ask N relatives to help and buy the rice at ¥29.90".

The help request's sibling, with the same guarantees, held by the database:
- the schedule (helpers, each one's cut, the final price) is fixed when the offer is made
  (price_cut_schedule.py, pure) and copied onto each request: shown to everyone, never changed;
- a request holds one of the offer's units from its start (a conditional UPDATE, under the CHECK
  `units_taken <= units`) until it expires, so the final price is never promised twice over;
- the help counter moves by a conditional UPDATE (still open, helped < needed, before the
  deadline) whose RETURNING gives the helper's position; the helper cuts exactly the schedule's
  amount for it; (cut, helper) and (cut, position) are unique: one cut per helper, no position
  twice, and exactly one help is the N-th;
- the N-th help completes the request and gives the requester a set_price coupon for the
  product at the final price; an expired request ends with nothing owed, its unit back.
Every help is a row with its amount: the request's page is its own audit.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.catalog import service as catalog
from kinsave.coupons import entitlements
from kinsave.db import insert_on_conflict, utcnow
from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing import attribution
from kinsave.social import expiry
from kinsave.social import service as circle
from kinsave.social.models import PriceCut, PriceCutHelp, PriceCutOffer
from kinsave.social.price_cut_schedule import cut_schedule, price_after
from kinsave.social.schemas import (
    PriceCutHelperOut,
    PriceCutOfferIn,
    PriceCutOfferOut,
    PriceCutOut,
)

register_codes({"price_cut_sold_out": 409})


def create_offer(
    session: Session, shop_id: str, data: PriceCutOfferIn, now: datetime | None = None
) -> PriceCutOfferOut:
    """A price cut offer for a product of the shop's catalog, its schedule fixed now.
    Errors: not_found (product), invalid_request (a final price not below the product's, or
    fewer fen to cut than helpers: every helper cuts at least one fen)."""
    now = now or utcnow()
    product = catalog.get_product(session, shop_id, data.sku)
    if not 0 <= data.final_price < product.price:
        raise KinsaveError("invalid_request", "the final price must be below the product's price")
    if product.price - data.final_price < data.helpers_needed:
        raise KinsaveError("invalid_request", "every helper must cut at least one fen")
    offer = PriceCutOffer(
        id="pco_" + secrets.token_hex(8),
        shop_id=shop_id,
        sku=product.sku,
        title=product.title,
        regular_price=product.price,
        final_price=data.final_price,
        helpers_needed=data.helpers_needed,
        hours=data.hours,
        schedule=cut_schedule(product.price, data.final_price, data.helpers_needed),
        units=data.units,
        units_taken=0,
        template_id=entitlements.create_set_price_template(
            session,
            shop_id,
            name=f"{product.title} after the price cut",
            sku=product.sku,
            price=data.final_price,
            stock=data.units,
            valid_days=data.entitlement_days,
            now=now,
        ),
        created_at=now,
    )
    session.add(offer)
    session.flush()
    return offer_out(offer)


def offer_out(offer: PriceCutOffer) -> PriceCutOfferOut:
    return PriceCutOfferOut(
        id=offer.id,
        shop_id=offer.shop_id,
        sku=offer.sku,
        title=offer.title,
        regular_price=offer.regular_price,
        final_price=offer.final_price,
        helpers_needed=offer.helpers_needed,
        hours=offer.hours,
        schedule=offer.schedule,
        units=offer.units,
        units_left=offer.units - offer.units_taken,
        created_at=offer.created_at,
    )


def find_offer(session: Session, offer_id: str) -> PriceCutOfferOut:
    """An offer as anyone may see it (its schedule is public). Errors: not_found."""
    offer = session.get(PriceCutOffer, offer_id)
    if offer is None:
        raise KinsaveError("not_found", "no such price cut offer")
    return offer_out(offer)


def start_cut(
    session: Session, offer_id: str, requester_id: str, now: datetime | None = None
) -> PriceCutOut:
    """Start a price cut: the offer's schedule is frozen onto it and one unit held for it.
    Errors: not_found, price_cut_sold_out, help_request_already_open (one open per offer)."""
    now = now or utcnow()
    offer = session.get(PriceCutOffer, offer_id)
    if offer is None:
        raise KinsaveError("not_found", "no such price cut offer")
    _expire_own_overdue(session, offer_id, requester_id, now)
    cut = PriceCut(
        id="pcut_" + secrets.token_hex(8),
        offer_id=offer.id,
        shop_id=offer.shop_id,
        requester_id=requester_id,
        regular_price=offer.regular_price,
        final_price=offer.final_price,
        helpers_needed=offer.helpers_needed,
        schedule=list(offer.schedule),
        helped=0,
        state="open",
        created_at=now,
        deadline_at=now + timedelta(hours=offer.hours),
    )
    try:
        with session.begin_nested():
            session.add(cut)
    except IntegrityError:
        raise KinsaveError(
            "help_request_already_open", "you already have an open price cut for this product"
        ) from None
    taken = session.execute(
        update(PriceCutOffer)
        .where(PriceCutOffer.id == offer_id, PriceCutOffer.units_taken < PriceCutOffer.units)
        .values(units_taken=PriceCutOffer.units_taken + 1)
        .returning(PriceCutOffer.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if taken is None:
        raise KinsaveError("price_cut_sold_out", "every unit of this price cut is taken")
    return cut_view(session, cut.id, now=now)


def _expire_own_overdue(session: Session, offer_id: str, requester_id: str, now: datetime) -> None:
    for cut_id in expiry.own_overdue(session, PriceCut, offer_id, requester_id, now):
        expire_cut(session, cut_id, now)


def help_cut(
    session: Session,
    cut_id: str,
    helper_id: str,
    now: datetime | None = None,
    *,
    device_hash: str | None = None,
    via_share: str | None = None,
) -> PriceCutOut:
    """Cut the price by exactly the schedule's next amount; the N-th cut completes the request
    and gives the requester a set_price coupon at the final price. Helping links helper and
    requester in the circle. Errors: not_found, help_self_not_allowed, help_already_given,
    help_request_closed, help_request_expired. A refused help changes nothing.
    help_self_not_allowed also refuses a second account of the requester: one that shares a
    device or host identity with them (sharing's marks, as a group self-join is refused).
    `via_share`: the live share of this price cut the helper came through (the help records
    it, as a group membership does); the caller checks that it leads here."""
    now = now or utcnow()
    cut = session.get(PriceCut, cut_id)
    if cut is None:
        raise KinsaveError("not_found", "no such price cut")
    if cut.requester_id == helper_id:
        raise KinsaveError("help_self_not_allowed", "you cannot cut your own price")
    _refuse_second_account(session, cut.requester_id, helper_id, device_hash)
    _refuse_if_closed(cut.state, cut.deadline_at, now)
    counted = session.execute(
        update(PriceCut)
        .where(
            PriceCut.id == cut_id,
            PriceCut.state == "open",
            PriceCut.helped < PriceCut.helpers_needed,
            PriceCut.deadline_at > now,
        )
        .values(helped=PriceCut.helped + 1)
        .returning(PriceCut.helped)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if counted is None:
        fresh = session.execute(
            select(PriceCut.state, PriceCut.deadline_at).where(PriceCut.id == cut_id)
        ).one()
        _refuse_if_closed(fresh.state, fresh.deadline_at, now)
        raise KinsaveError("help_request_closed", "this price cut already has all its helpers")
    position = int(counted[0])
    _record_help(session, cut, helper_id, (position, via_share), now)
    if position == cut.helpers_needed:
        _complete(session, cut, now)
    circle.link_relatives(session, helper_id, cut.requester_id, via="help")
    return cut_view(session, cut_id, now=now)


def _refuse_second_account(
    session: Session, requester_id: str, helper_id: str, device_hash: str | None
) -> None:
    marks = attribution.identity_marks(session, [requester_id, helper_id])
    mine = marks[helper_id] | ({"d:" + device_hash} if device_hash else set())
    if mine & marks[requester_id]:
        raise KinsaveError(
            "help_self_not_allowed", "you cannot cut your own price from a second account"
        )


def _refuse_if_closed(state: str, deadline_at: datetime, now: datetime) -> None:
    expiry.refuse_if_closed(
        state,
        deadline_at,
        now,
        completed="this price cut is already complete",
        expired="this price cut's time is up",
    )


def _record_help(
    session: Session,
    cut: PriceCut,
    helper_id: str,
    place: tuple[int, str | None],  # (position, the share it came through)
    now: datetime,
) -> None:
    position, via_share = place
    inserted = session.execute(
        insert_on_conflict(session, PriceCutHelp)
        .values(
            cut_id=cut.id,
            helper_id=helper_id,
            position=position,
            amount=cut.schedule[position - 1],
            via_share=via_share,
            helped_at=now,
        )
        .on_conflict_do_nothing()
        .returning(PriceCutHelp.id)
    ).first()
    if inserted is None:  # the transaction rolls back, the counter with it
        raise KinsaveError("help_already_given", "you already helped cut this price")


def _complete(session: Session, cut: PriceCut, now: datetime) -> None:
    offer = session.get(PriceCutOffer, cut.offer_id)
    assert offer is not None
    given = entitlements.grant_set_price(session, offer.template_id, [cut.requester_id], now)
    session.execute(
        update(PriceCut)
        .where(PriceCut.id == cut.id)
        .values(state="completed", closed_at=now, coupon_id=given[cut.requester_id])
        .execution_options(synchronize_session=False)
    )


def cut_view(session: Session, cut_id: str, now: datetime | None = None) -> PriceCutOut:
    """The request with its schedule, who cut how much, the price now and its state."""
    now = now or utcnow()
    cut = session.get(PriceCut, cut_id)
    if cut is None:
        raise KinsaveError("not_found", "no such price cut")
    session.refresh(cut)
    offer = session.get(PriceCutOffer, cut.offer_id)
    assert offer is not None
    helps = list(
        session.execute(
            select(PriceCutHelp)
            .where(PriceCutHelp.cut_id == cut_id)
            .order_by(PriceCutHelp.position)
        ).scalars()
    )
    names = auth.display_names(session, [h.helper_id for h in helps])
    state = expiry.shown_state(cut.state, cut.deadline_at, now)
    return PriceCutOut(
        id=cut.id,
        offer_id=cut.offer_id,
        shop_id=cut.shop_id,
        sku=offer.sku,
        title=offer.title,
        requester_id=cut.requester_id,
        regular_price=cut.regular_price,
        final_price=cut.final_price,
        price_now=price_after(cut.regular_price, cut.schedule, cut.helped),
        helpers_needed=cut.helpers_needed,
        helped=cut.helped,
        helpers_remaining=cut.helpers_needed - cut.helped,
        schedule=cut.schedule,
        next_cut=cut.schedule[cut.helped] if state == "open" else None,
        helpers=[
            PriceCutHelperOut(
                shopper_id=h.helper_id,
                display_name=names.get(h.helper_id, h.helper_id),
                position=h.position,
                amount=h.amount,
                helped_at=h.helped_at,
            )
            for h in helps
        ],
        state=state,
        coupon_id=cut.coupon_id,
        created_at=cut.created_at,
        deadline_at=cut.deadline_at,
        closed_at=cut.closed_at,
    )


def due_for_expiry(session: Session, now: datetime, limit: int = 200) -> list[str]:
    return expiry.due_for_expiry(session, PriceCut, now, limit)


def expire_cut(session: Session, cut_id: str, now: datetime) -> int | None:
    """Close an unfinished price cut past its deadline: nothing is owed, its unit goes back.
    Exactly once with several sweepers. Returns 0 when it expired it, None when not due."""
    closed = expiry.close_if_overdue(session, PriceCut, cut_id, now, PriceCut.offer_id)
    if closed is None:
        return None
    session.execute(
        update(PriceCutOffer)
        .where(PriceCutOffer.id == closed.offer_id)
        .values(units_taken=PriceCutOffer.units_taken - 1)
        .execution_options(synchronize_session=False)
    )
    return 0
