"""Pure: every form a share takes on a channel, as its policy allows (link, deep link, QR, token).

The QR code encodes the mini-app deep link when the host has one (it opens inside the host), else
the short link; a channel that allows neither links nor deep links gets no QR, only the token.
"""

import io
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno

from kinsave.sharing import policy
from kinsave.sharing.policy import PolicyRules
from kinsave.sharing.terms_copy import ShareTerms, terms_copy
from kinsave.sharing.tokens import format_token

# What a host shows of a mini-app card's title (WeChat cuts longer ones): a group's or price
# cut's terms always fit in it, the product's name is cut instead (terms_copy.py).
CARD_TITLE_LIMIT = 64

# The copy a shopper pastes, in the shopper's language (the mini app sends its page language).
HEADLINES = {
    "en": {
        "deal": "A deal for you at the store.",
        "coupon": "A coupon for you at the store.",
        "envelope": "A red envelope for you.",
        "help": "Help me unlock a red envelope.",
        "group": "Join my group at the store.",
        "price_cut": "Help me cut a price at the store.",
    },
    "zh-CN": {
        "deal": "给你分享一个店里的好价。",
        "coupon": "送你一张店里的优惠券。",
        "envelope": "给你发了一个红包。",
        "help": "帮我点一下，一起解锁红包。",
        "group": "和我一起拼团。",
        "price_cut": "帮我砍个价。",
    },
}


@dataclass(frozen=True)
class MiniAppCard:
    """What a host shows for a mini-app share: a title, a picture, the path it opens."""

    title: str
    picture_url: str
    path: str


@dataclass(frozen=True)
class ShareForms:
    token: str
    text: str
    link: str | None
    deep_link: str | None
    qr_content: str | None
    card: MiniAppCard | None = None


def card_picture(base_url: str, target_type: str) -> str:
    """The built-in picture of a kind of target (a product's own image replaces it for a deal)."""
    return f"{base_url.rstrip('/')}/static/cards/{target_type}.png"


def share_forms(
    rules: PolicyRules,
    *,
    code: str,
    target_type: str,
    base_url: str,
    headline: str = "",
    terms: ShareTerms | None = None,
    language: str = "en",
    picture_url: str | None = None,
) -> ShareForms:
    """`base_url`: where kinsave is reached from outside (the short link lives there);
    `headline`: the copy (a campaign's share text), after a group's or price cut's `terms`,
    which come first in the text and make the card's title; `language`: the copy's ("en" or
    "zh-CN"; anything else reads English); `picture_url`: the mini-app card's picture (the
    target kind's built-in one by default)."""
    short_link = f"{base_url.rstrip('/')}/s/{code}"
    link = short_link if policy.domain_allowed(rules, urlsplit(short_link).hostname) else None
    deep = policy.deep_link(rules.deep_link, code) if rules.deep_link else None
    qr_content = (deep or link) if rules.qr_allowed else None
    title = headline or HEADLINES.get(language, HEADLINES["en"]).get(target_type, "")
    if terms is not None:
        stated = terms_copy(terms, language, policy.SHARE_HEADLINE_LIMIT)
        title = " ".join(part for part in (stated, headline) if part)
    text = policy.share_text(rules, code=code, headline=title, link=link, language=language)
    card = None
    card_path = policy.card_path(rules.deep_link, code) if rules.deep_link else None
    if rules.mini_app_card_allowed and card_path:
        picture = picture_url or card_picture(base_url, target_type)
        card_title = (
            terms_copy(terms, language, CARD_TITLE_LIMIT)
            if terms is not None
            else title.strip()[:CARD_TITLE_LIMIT]
        )
        card = MiniAppCard(title=card_title, picture_url=picture, path=card_path)
    return ShareForms(
        token=format_token(code),
        text=text,
        link=link,
        deep_link=deep,
        qr_content=qr_content,
        card=card,
    )


def qr_svg(content: str) -> str:
    return str(segno.make(content, error="m").svg_inline(scale=4))


def qr_png(content: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()
