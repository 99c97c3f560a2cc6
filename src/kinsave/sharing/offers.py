"""What a share offers besides its target: the coupon that travels with it, and whether the store
still carries the target at all.

A share of a deal carries the best coupon of its shop for that product at the time of sharing
(coupons.deals ranks it, as the deals feed does); a share of a coupon carries that coupon. When
the store resolves the share for a signed-in shopper, the coupon is claimed for them through the
one claim implementation (coupons.claims), once per (share, shopper): a `share_claim` row, unique
on that pair, is taken first, so a second resolve, even a concurrent one, finds it and answers the
coupon it recorded instead of claiming again.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kinsave.catalog import service as catalog
from kinsave.coupons import claims, deals
from kinsave.coupons import service as coupons
from kinsave.coupons.schemas import CouponOut
from kinsave.db import insert_on_conflict
from kinsave.envelopes import service as envelopes
from kinsave.errors import KinsaveError, register_codes
from kinsave.groups.arrival import require_channel
from kinsave.groups.models import DealGroup, GroupDeal
from kinsave.sharing.models import Share, ShareClaim
from kinsave.sharing.schemas import OfferedCouponOut
from kinsave.social import help_requests
from kinsave.social.models import PriceCut, PriceCutOffer
from kinsave.storelinks import service as storelinks

register_codes({"target_unavailable": 410})

UNAVAILABLE = {
    "deal": "the store no longer sells this product",
    "coupon": "this coupon is no longer offered",
    "envelope": "this red envelope is gone",
    "help": "this help request is gone",
    "group": "this group is gone",
    "price_cut": "this price cut is gone",
}


def target_shop(session: Session, target_type: str, target_id: str) -> str | None:
    """The shop a coupon, envelope or help request belongs to (a share of it counts there), or
    None: a deal names no shop of its own (the same sku may be several shops'), and an unknown
    target none (require_target refuses it)."""
    if target_type == "coupon":
        template = coupons.find_template(session, target_id)
        return None if template is None else template.shop_id
    if target_type == "envelope":
        return envelopes.envelope_shop(session, target_id)
    if target_type == "help":
        return help_requests.request_shop(session, target_id)
    if target_type == "group":
        group = session.get(DealGroup, target_id)
        return None if group is None else group.shop_id
    if target_type == "price_cut":
        cut = session.get(PriceCut, target_id)
        return None if cut is None else cut.shop_id
    return None


def require_share_channel(session: Session, target_type: str, target_id: str, channel: str) -> None:
    """A group is shared only on its deal's channels. Errors: channel_not_allowed (403)."""
    group = session.get(DealGroup, target_id) if target_type == "group" else None
    deal = session.get(GroupDeal, group.deal_id) if group else None
    if deal is not None:
        require_channel(deal.channels, channel)


def target_picture(session: Session, share: Share) -> str | None:
    """A deal's (a group's, a price cut's) mini-app card shows its product's own picture when
    the store sent one."""
    sku = share.target_id if share.target_type == "deal" else _target_sku(session, share)
    if sku is None:
        return None
    product = catalog.find_product(session, share.shop_id, sku)
    return product.image_url if product is not None else None


def _target_sku(session: Session, share: Share) -> str | None:
    if share.target_type == "group":
        group = session.get(DealGroup, share.target_id)
        deal = session.get(GroupDeal, group.deal_id) if group else None
        return deal.sku if deal else None
    if share.target_type == "price_cut":
        cut = session.get(PriceCut, share.target_id)
        offer = session.get(PriceCutOffer, cut.offer_id) if cut else None
        return offer.sku if offer else None
    return None


def carried_coupon(
    session: Session, shop_id: str, target_type: str, target_id: str, now: datetime
) -> str | None:
    """The coupon template a new share carries, checking first that the shop offers the target.

    Errors: target_unavailable (a product missing from the shop's catalog, a coupon template that
    is not the shop's or has ended, an envelope or help request that does not exist)."""
    require_target(session, shop_id, target_type, target_id)
    if target_type == "coupon":
        return target_id
    if target_type == "deal":
        product = catalog.find_product(session, shop_id, target_id)
        return deals.travelling_coupon(session, product, now) if product else None
    return None


def require_target(session: Session, shop_id: str, target_type: str, target_id: str) -> None:
    """Errors: target_unavailable when the shop no longer offers the target."""
    if not target_available(session, shop_id, target_type, target_id):
        raise KinsaveError("target_unavailable", UNAVAILABLE[target_type])


def target_available(session: Session, shop_id: str, target_type: str, target_id: str) -> bool:
    """Whether the shop still offers the target (see carried_coupon for what that means)."""
    if target_type == "deal":
        return catalog.find_product(session, shop_id, target_id) is not None
    if target_type == "coupon":
        template = coupons.find_template(session, target_id)
        return template is not None and template.shop_id == shop_id and template.status != "ended"
    if target_type == "envelope":
        return envelopes.envelope_exists(session, target_id)
    # A full, failed or expired group (or price cut) stays available: its page says so.
    if target_type == "group":
        return session.get(DealGroup, target_id) is not None
    if target_type == "price_cut":
        return session.get(PriceCut, target_id) is not None
    return help_requests.request_exists(session, target_id)


@dataclass(frozen=True)
class TravelledCoupon:
    claimed: list[CouponOut] = field(default_factory=list)
    refusal: str | None = None  # why the carried coupon could not be claimed


def offered_coupon(session: Session, share: Share) -> OfferedCouponOut | None:
    """The coupon the share carries, by name (for the store to say what it is)."""
    if share.coupon_template_id is None:
        return None
    template = coupons.find_template(session, share.coupon_template_id)
    return (
        None if template is None else OfferedCouponOut(template_id=template.id, name=template.name)
    )


def claim_travelled_coupon(
    session: Session,
    share: Share,
    shopper_id: str,
    now: datetime,
) -> TravelledCoupon:
    """Claim the share's coupon for the shopper who resolved it, at most once per (share,
    shopper): a repeat answers the coupon of the first claim. A refused claim (coupon_sold_out,
    coupon_limit_reached, coupon_expired, coupon_not_claimable, not_found) writes nothing and is
    answered, not raised: the share still leads to its target.

    The store acts for the shopper here, so it must be one they linked: shopper_not_linked is
    raised (and rolls the resolve back), whether or not the share carries a coupon.
    """
    storelinks.require_link(session, share.shop_id, shopper_id)
    if share.coupon_template_id is None:
        return TravelledCoupon()
    # RETURNING, not rowcount: a skipped conflict returns no row on every backend.
    taken = session.execute(
        insert_on_conflict(session, ShareClaim)
        .values(share_code=share.code, shopper_id=shopper_id, coupon_id=None, created_at=now)
        .on_conflict_do_nothing(index_elements=["share_code", "shopper_id"])
        .returning(ShareClaim.id)
    ).scalar_one_or_none()
    if taken is None:
        return _earlier_claim(session, share.code, shopper_id, now)
    try:
        coupon = claims.claim_coupon(
            session, shopper_id, share.coupon_template_id, now, via_share=share.code
        )
    except KinsaveError as refused:
        _forget_claim(session, taken)
        return TravelledCoupon(refusal=refused.code)
    session.execute(update(ShareClaim).where(ShareClaim.id == taken).values(coupon_id=coupon.id))
    return TravelledCoupon(claimed=[coupon])


def _earlier_claim(session: Session, code: str, shopper_id: str, now: datetime) -> TravelledCoupon:
    coupon_id = session.execute(
        select(ShareClaim.coupon_id).where(
            ShareClaim.share_code == code, ShareClaim.shopper_id == shopper_id
        )
    ).scalar_one_or_none()
    coupon = coupons.find_coupon(session, coupon_id, now) if coupon_id else None
    return TravelledCoupon(claimed=[coupon] if coupon else [])


def _forget_claim(session: Session, claim_id: int) -> None:
    session.execute(delete(ShareClaim).where(ShareClaim.id == claim_id))
