"""Help offers: the terms an operator sets on a campaign ("N helpers within T hours unlock a
reward of R; a helper helps at most K requests a day"). A shopper's request copies them when it
starts (help_requests.py), so changing the offers never reaches a running request.
"""

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.social.models import HelpOffer
from kinsave.social.schemas import HelpOfferIn, HelpOfferOut

MAX_REWARD = 10**9


def create_offer(
    session: Session, shop_id: str, campaign_id: str, data: HelpOfferIn
) -> HelpOfferOut:
    """Configure a help offer on one of this shop's campaigns. Errors: not_found, invalid_amount."""
    campaign = campaigns.owned_campaign(session, shop_id, campaign_id)
    if not 1 <= data.reward <= MAX_REWARD:
        raise KinsaveError("invalid_amount", f"reward must be between 1 and {MAX_REWARD}")
    offer = HelpOffer(
        id="hof_" + secrets.token_hex(8),
        shop_id=shop_id,
        campaign_id=campaign.id,
        helpers_needed=data.helpers_needed,
        hours=data.hours,
        reward=data.reward,
        daily_help_limit=data.daily_help_limit,
        created_at=utcnow(),
    )
    session.add(offer)
    session.flush()
    return _offer_out(offer)


def list_offers(session: Session, shop_id: str, campaign_id: str) -> list[HelpOfferOut]:
    campaigns.owned_campaign(session, shop_id, campaign_id)
    offers = session.execute(
        select(HelpOffer).where(HelpOffer.campaign_id == campaign_id).order_by(HelpOffer.created_at)
    ).scalars()
    return [_offer_out(offer) for offer in offers]


def _offer_out(offer: HelpOffer) -> HelpOfferOut:
    return HelpOfferOut(
        id=offer.id,
        campaign_id=offer.campaign_id,
        helpers_needed=offer.helpers_needed,
        hours=offer.hours,
        reward=offer.reward,
        daily_help_limit=offer.daily_help_limit,
        created_at=offer.created_at,
    )
