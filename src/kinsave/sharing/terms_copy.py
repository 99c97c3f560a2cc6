"""Pure: what a share of a group or a price cut says up front, within the room a channel gives.

WeChat's sharing rules want a group-buying share to state what the group costs, how many people
it still needs and until when (lint's group_terms_hidden), and a mini-app card's title is cut by
the host (render.CARD_TITLE_LIMIT), the pasted text's headline by us (policy.SHARE_HEADLINE_LIMIT).
So the terms come first and the product's name last, and a copy that must fit cuts the name
(with "…"), never the terms: each kind has a longer copy and a shorter one, and the shorter
states the terms of any deal in the card's room (tests/sharing/test_terms_copy.py).
"""

from dataclasses import dataclass
from typing import Literal

# A longer copy is used only when it leaves this much of the product's name, or all of it.
NAME_KEPT = 12
ELLIPSIS = "…"

COPIES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "group": (
            "Group price {price}, {needed} more needed, {left} left: join my group for {title}.",
            "{price} each, {needed} more needed, {left} left: {title}",
        ),
        "group_closed": (
            "My group at {price} each is closed: {title}.",
            "Group closed, {price} each: {title}",
        ),
        "price_cut": (
            "{price} once {needed} more helpers cut, each cut shown in advance, {left} left: "
            "help me cut the price of {title}.",
            "Cut to {price} with {needed} more helpers, {left} left: {title}",
        ),
        "price_cut_closed": (
            "My price cut to {price} is closed: {title}.",
            "Price cut closed, {price}: {title}",
        ),
    },
    "zh-CN": {
        "group": (
            "拼团价{price}，还差{needed}人，剩余{left}：和我一起拼团买{title}。",
            "拼团价{price}，还差{needed}人，剩{left}：{title}",
        ),
        "group_closed": (
            "我的拼团（拼团价{price}）已结束：{title}。",
            "拼团已结束，拼团价{price}：{title}",
        ),
        "price_cut": (
            "砍到{price}：还差{needed}人帮忙，每人砍多少事先公开，剩余{left}：帮我砍{title}。",
            "砍到{price}，还差{needed}人，剩{left}：{title}",
        ),
        "price_cut_closed": (
            "我的砍价（砍到{price}）已结束：{title}。",
            "砍价已结束，砍到{price}：{title}",
        ),
    },
}
# The time left in the longer copies, and in the shortest (a card's room is short in English).
TIME_LEFT = {"en": ("{h} h {m} min", "{h}h {m}m"), "zh-CN": ("{h}小时{m}分", "{h}小时{m}分")}


@dataclass(frozen=True)
class ShareTerms:
    """A group's or price cut's terms as of the share: `price` is the group price (or the price
    once cut), `needed` the members (helpers) still needed."""

    kind: Literal["group", "price_cut"]
    title: str  # the product's name
    price: int
    needed: int
    seconds_left: int
    is_open: bool  # forming (a group) or open (a price cut)


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def terms_copy(terms: ShareTerms, language: str, limit: int) -> str:
    """The terms, then the product's name, in at most `limit` characters: the longer copy when
    it keeps the name (or NAME_KEPT characters of it), else the shorter with the name cut. A
    closed group or price cut says so, with its price, and no count or time."""
    copies = COPIES.get(language, COPIES["en"])
    is_open = terms.is_open and terms.seconds_left > 0
    forms = copies[terms.kind] if is_open else copies[terms.kind + "_closed"]
    hours, minutes = terms.seconds_left // 3600, terms.seconds_left % 3600 // 60
    long_left, short_left = TIME_LEFT.get(language, TIME_LEFT["en"])
    values = {"price": yuan(terms.price), "needed": terms.needed}
    title = " ".join(terms.title.split())
    *longer, shortest = forms
    for form in longer:
        left = long_left.format(h=hours, m=minutes)
        room = limit - len(form.format(title="", left=left, **values))
        if room >= min(len(title), NAME_KEPT):
            return form.format(title=_cut(title, room), left=left, **values)
    left = short_left.format(h=hours, m=minutes)
    room = limit - len(shortest.format(title="", left=left, **values))
    return shortest.format(title=_cut(title, room), left=left, **values)


def _cut(title: str, room: int) -> str:
    """The name in `room` characters: whole, or cut with an ellipsis (nothing if no room)."""
    if len(title) <= room:
        return title
    if room < len(ELLIPSIS):
        return ""
    return title[: room - len(ELLIPSIS)].rstrip() + ELLIPSIS
