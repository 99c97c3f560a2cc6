"""What a share of a group or a price cut says up front: the price, how many are still needed and
the time left (WeChat's sharing rules; lint's group_terms_hidden). The copy is built from the
target's state when shared, so the card and the text never hide or round the terms.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from kinsave.groups.models import DealGroup, GroupDeal
from kinsave.social.models import PriceCut, PriceCutOffer

TEXTS = {
    "en": {
        "group": "Join my group for {title}: {price} each, {needed} more needed, {left} left.",
        "group_closed": "My group for {title} at {price} each is closed.",
        "price_cut": "Help me cut {title} to {price}: {needed} more helpers needed, each cut "
        "shown in advance, {left} left.",
        "price_cut_closed": "My price cut for {title} to {price} is closed.",
        "left": "{h} h {m} min",
    },
    "zh-CN": {
        "group": "和我一起拼团买{title}：拼团价{price}，还差{needed}人，剩余{left}。",
        "group_closed": "我的{title}拼团（拼团价{price}）已结束。",
        "price_cut": "帮我把{title}的价格砍到{price}：还差{needed}人，"
        "每人砍多少事先公开，剩余{left}。",
        "price_cut_closed": "我的{title}砍价（砍到{price}）已结束。",
        "left": "{h}小时{m}分",
    },
}


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def terms_headline(
    session: Session, target_type: str, target_id: str, *, language: str, now: datetime
) -> str:
    """The share's copy for a group or a price cut, or "" for other targets."""
    texts = TEXTS.get(language, TEXTS["en"])
    if target_type == "group":
        group = session.get(DealGroup, target_id)
        deal = session.get(GroupDeal, group.deal_id) if group else None
        if group is None or deal is None:
            return ""
        terms = (deal.title, deal.group_price, group.size - group.members, group.expires_at)
        return _headline(texts, "group", terms, open_=group.status == "forming", now=now)
    if target_type == "price_cut":
        cut = session.get(PriceCut, target_id)
        offer = session.get(PriceCutOffer, cut.offer_id) if cut else None
        if cut is None or offer is None:
            return ""
        terms = (offer.title, cut.final_price, cut.helpers_needed - cut.helped, cut.deadline_at)
        return _headline(texts, "price_cut", terms, open_=cut.state == "open", now=now)
    return ""


def _headline(
    texts: dict[str, str],
    kind: str,
    terms: tuple[str, int, int, datetime],
    *,
    open_: bool,
    now: datetime,
) -> str:
    title, price, needed, ends_at = terms
    seconds = max(0, int((ends_at - now).total_seconds()))
    if not open_ or seconds == 0:
        return texts[kind + "_closed"].format(title=title, price=yuan(price))
    left = texts["left"].format(h=seconds // 3600, m=seconds % 3600 // 60)
    return texts[kind].format(title=title, price=yuan(price), needed=needed, left=left)
