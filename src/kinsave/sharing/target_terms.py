"""What a share of a group or a price cut states up front: its terms as of the share (the
price, how many are still needed, the time left), read from the target's state when shared so
that the card and the text never hide or round them. The copy is terms_copy.py's."""

from datetime import datetime

from sqlalchemy.orm import Session

from kinsave.groups.models import DealGroup, GroupDeal
from kinsave.sharing.terms_copy import ShareTerms
from kinsave.social.models import PriceCut, PriceCutOffer


def share_terms(
    session: Session, target_type: str, target_id: str, *, now: datetime
) -> ShareTerms | None:
    """A group's or price cut's terms, or None for other targets (or one that is gone)."""
    if target_type == "group":
        group = session.get(DealGroup, target_id)
        deal = session.get(GroupDeal, group.deal_id) if group else None
        if group is None or deal is None:
            return None
        return ShareTerms(
            "group",
            deal.title,
            deal.group_price,
            group.size - group.members,
            _seconds_until(group.expires_at, now),
            group.status == "forming",
        )
    if target_type == "price_cut":
        cut = session.get(PriceCut, target_id)
        offer = session.get(PriceCutOffer, cut.offer_id) if cut else None
        if cut is None or offer is None:
            return None
        return ShareTerms(
            "price_cut",
            offer.title,
            cut.final_price,
            cut.helpers_needed - cut.helped,
            _seconds_until(cut.deadline_at, now),
            cut.state == "open",
        )
    return None


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))
