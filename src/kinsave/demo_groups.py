"""Demo data for group deals and price cuts: rice at ¥39.90 in a group of 3 (one group forming,
started by Grandpa), walnuts cut from ¥59.90 to ¥29.90 by 5 relatives (Xiaohong's cut, 2 in)."""

from sqlalchemy.orm import Session

from kinsave.groups import service as group_deals
from kinsave.groups import starting
from kinsave.groups.schemas import GroupDealIn
from kinsave.social import price_cuts
from kinsave.social.schemas import PriceCutOfferIn

RICE_GROUP = GroupDealIn(sku="rice-5kg", group_price=3990, group_size=3, units=300)
WALNUT_CUT = PriceCutOfferIn(sku="snack-walnuts", final_price=2990, helpers_needed=5, units=100)


def seed_groups_and_price_cuts(session: Session, shop_id: str) -> tuple[str, str]:
    """Returns (the rice group deal's id, the walnut price cut offer's id). Needs the catalog."""
    deal = group_deals.create_deal(session, shop_id, RICE_GROUP)
    starting.start_group(session, deal.id, "grandpa")
    offer = price_cuts.create_offer(session, shop_id, WALNUT_CUT)
    cut = price_cuts.start_cut(session, offer.id, "xiaohong")
    for helper in ("grandpa", "mum"):
        price_cuts.help_cut(session, cut.id, helper)
    return deal.id, offer.id
