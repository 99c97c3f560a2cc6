"""Pure: what a host allows (a channel policy), and how a share adapts to it.

A policy says whether external links open (and to which domains), which mini-app deep link the host
offers and its limits, whether QR codes and which payment methods are allowed, and whether wording
that rewards the act of sharing (or random rewards) may appear. Everything here is plain data and
functions over it: no database, no web.
"""

import re
from typing import Annotated, Literal
from urllib.parse import parse_qs, quote, urlsplit

from pydantic import BaseModel, Field, field_validator

from kinsave.sharing.tokens import format_token

BUILTIN_CHANNELS = ("web", "wechat", "telegram", "whatsapp", "sms")

# The hosts' documented limits.
WECHAT_URL_LINK_QUERY_MAX = 1024
WECHAT_SCENE_MAX = 32
WECHAT_SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{0,32}$")
TELEGRAM_STARTAPP = re.compile(r"^[A-Za-z0-9_-]{0,512}$")

DeepLinkFormat = Literal["wechat_url_link", "wechat_scene", "telegram_startapp"]
_DOMAIN = r"^[a-z0-9*]([a-z0-9.*-]{0,251}[a-z0-9])?$"
# The same rule as the document states it: before the server strips and lower-cases the name.
Domain = Annotated[str, Field(pattern=r"^\s*[A-Za-z0-9*]([A-Za-z0-9.*-]{0,251}[A-Za-z0-9])?\s*$")]


class DeepLinkRule(BaseModel):
    """How the host opens the mini app. `base`: the URL the start parameter is appended to
    (wechat_url_link: `weixin://dl/business/?appid=..&path=..`; telegram: `https://t.me/bot/app`,
    or empty to derive it from the deployment's bot: its username and KINSAVE_TELEGRAM_APP_NAME).
    """

    format: DeepLinkFormat
    base: str = Field(default="", max_length=400)


class PolicyRules(BaseModel):
    links_allowed: bool = True
    allowed_domains: list[Domain] = Field(default_factory=list, max_length=100)
    blocked_domains: list[Domain] = Field(default_factory=list, max_length=100)
    deep_link: DeepLinkRule | None = None
    # A mini-app card (title, picture, path into the mini app) in the share sheet: only where
    # the host opens mini apps (a deep link), since the card's path is one.
    mini_app_card_allowed: bool = False
    qr_allowed: bool = True
    payment_methods: list[str] = Field(default_factory=lambda: ["wallet", "card"], max_length=20)
    share_reward_wording_allowed: bool = True
    random_rewards_allowed: bool = True
    help_count_must_show: bool = False

    @field_validator("allowed_domains", "blocked_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = [d.strip().lower() for d in value]
        for domain in cleaned:
            if not re.match(_DOMAIN, domain):
                raise ValueError(f"not a domain: {domain!r}")
        return cleaned


_WECHAT_BASE = "weixin://dl/business/?appid=wx_kinsave&path=pages/share/index"

DEFAULT_POLICIES: dict[str, PolicyRules] = {
    "web": PolicyRules(payment_methods=["wallet", "card", "alipay", "wechat_pay"]),
    # The host of the product story: blocks the store's links and payment, bans share rewards.
    "wechat": PolicyRules(
        links_allowed=False,
        deep_link=DeepLinkRule(format="wechat_url_link", base=_WECHAT_BASE),
        mini_app_card_allowed=True,
        payment_methods=["wallet", "wechat_pay"],
        share_reward_wording_allowed=False,
        random_rewards_allowed=False,
        help_count_must_show=True,
    ),
    # The t.me base comes from the deployment's bot (telegram.identity), not from here.
    "telegram": PolicyRules(
        deep_link=DeepLinkRule(format="telegram_startapp"), mini_app_card_allowed=True
    ),
    "whatsapp": PolicyRules(),
    "sms": PolicyRules(qr_allowed=False),
}


def default_policy(channel: str) -> PolicyRules:
    """The built-in channel's policy, or a permissive one for a channel an operator adds."""
    return DEFAULT_POLICIES.get(channel, PolicyRules()).model_copy(deep=True)


def with_telegram_app(rules: PolicyRules, telegram_app: str | None) -> PolicyRules:
    """The rules with a Telegram deep link's empty base filled from the deployment's bot
    (`https://t.me/<bot>/<app>`); a base an operator set stays as set."""
    rule = rules.deep_link
    if rule is None or rule.format != "telegram_startapp" or rule.base or not telegram_app:
        return rules
    return rules.model_copy(update={"deep_link": rule.model_copy(update={"base": telegram_app})})


def deep_link(rule: DeepLinkRule, code: str) -> str | None:
    """The host's deep link opening the mini app on this share, or None if over a host limit
    (or a Telegram link whose bot is not known yet)."""
    if rule.format == "telegram_startapp":
        if not TELEGRAM_STARTAPP.fullmatch(code) or not rule.base:
            return None
        return f"{rule.base}?startapp={code}"
    if rule.format == "wechat_scene":
        # The scene of an unlimited mini-program code: passed when generating the code image.
        scene = f"s={code}"
        return scene if WECHAT_SCENE.fullmatch(scene) else None
    query = quote(f"s={code}", safe="")
    if len(query) > WECHAT_URL_LINK_QUERY_MAX:
        return None
    separator = "&" if "?" in rule.base else "?"
    return f"{rule.base}{separator}query={query}"


def card_path(rule: DeepLinkRule, code: str) -> str | None:
    """The path a mini-app card opens: the mini program's share page with the code (WeChat), or
    the Mini App's startapp link (Telegram, where a card is the link's preview)."""
    if rule.format == "telegram_startapp":
        return deep_link(rule, code)
    page = parse_qs(urlsplit(rule.base).query).get("path", ["pages/share/index"])[0]
    return f"{page}?s={code}"


def domain_allowed(rules: PolicyRules, host: str | None) -> bool:
    """May the host open a link to this domain? (`*.shop.com` matches sub-domains.)"""
    if not rules.links_allowed:
        return False
    if host is None:
        return True
    host = host.lower().rstrip(".")
    if any(_matches(host, pattern) for pattern in rules.blocked_domains):
        return False
    return not rules.allowed_domains or any(_matches(host, p) for p in rules.allowed_domains)


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) or host == pattern[2:]
    return host == pattern


def url_allowed(rules: PolicyRules, url: str) -> bool:
    return domain_allowed(rules, urlsplit(url).hostname)


SHARE_WORDS = {
    "en": {
        "saving": "A saving for you",
        "open": "Open: {link}",
        "deep": "Copy this message and open the mini program to get it.",
        "copy": "Copy this message and open the store app to get it.",
    },
    "zh-CN": {
        "saving": "给你的优惠",
        "open": "打开：{link}",
        "deep": "复制这条消息，打开小程序即可领取。",
        "copy": "复制这条消息，打开商店 App 即可领取。",
    },
}


# The most of a headline the pasted text keeps (a group's terms fit in it: terms_copy.py).
SHARE_HEADLINE_LIMIT = 120


def share_text(
    rules: PolicyRules, *, code: str, headline: str, link: str | None, language: str = "en"
) -> str:
    """The line the shopper pastes: the token first (it must survive truncation), then what it is,
    then how to open it on this channel (its link; else its mini program; else copy the token),
    in the shopper's language. Reward-for-sharing wording never appears here: a reward is for a
    purchase.
    """
    words = SHARE_WORDS.get(language, SHARE_WORDS["en"])
    parts = [format_token(code), headline.strip()[:SHARE_HEADLINE_LIMIT] or words["saving"]]
    if link is not None:
        parts.append(words["open"].format(link=link))
    elif rules.deep_link:
        parts.append(words["deep"])
    else:
        parts.append(words["copy"])
    separator = "" if language == "zh-CN" else " "
    return separator.join(parts)
