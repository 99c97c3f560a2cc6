"""Pure: the wording each host rule bans, in zh-CN and English, matched after normalisation.

`normalise` folds what people vary to slip past a filter: full-width letters, digits and
punctuation (NFKC: `Ｓｈａｒｅ`, `５`, `￥`), English case, zero-width characters, and spaces
(`分 享 得 红 包`). Chinese numerals are matched by the patterns themselves (`三个好友` and
`3个好友` alike). A reward for a purchase ("好友下单后你得¥5", "get ¥5 when they buy") is not
a reward for sharing: the purchase cue between the share and the reward, or right after an
English reward, lets it pass.
"""

import re
import unicodedata

_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_SPACE_BY_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")
NUMBER = r"(?:\d+|[零〇一二两三四五六七八九十百千几多]+)"
_END = r"。！？!?;；\n"  # a sentence ends: a match never crosses one

# A purchase: what makes a reward a referral reward rather than a reward for sharing.
_PURCHASE_ZH = r"(?:下单|购买|购物|付款|支付|买单|消费|成交|买了|买后)"
_PURCHASE_EN = (
    r"(?:order|orders|ordered|buy|buys|bought|purchase[sd]?|pay|pays|paid|check(?:s|ed)? out)"
)
_PURCHASE = rf"(?:{_PURCHASE_ZH}|\b{_PURCHASE_EN}\b)"
_PURCHASE_AFTER = re.compile(
    rf"^[^{_END}]{{0,20}}?\b(?:when|after|once|if|for (?:each|every))\b[^{_END}]{{0,30}}?"
    rf"\b{_PURCHASE_EN}\b"
)


def _between(limit: int) -> str:
    """Up to `limit` characters of the same sentence without a purchase cue."""
    return rf"(?:(?!{_PURCHASE})[^{_END}]){{0,{limit}}}?"


_SHARE_ZH = (
    rf"(?:分享|转发|转给|发给|发到|邀请|拉(?:{NUMBER}(?:个|位|名)?)?(?:人|好友|朋友|群|进群))"
)
_REWARD_NOUN_ZH = rf"(?:红包|现金|奖|券|积分|礼|福利|会员|免费|{NUMBER}|¥|\$)"
_REWARD_ZH = (
    rf"(?:领取|领(?!导|域|先|袖)|可得|即得|各得|就得|赚|抽取|奖励"
    rf"|(?:获得|获取|得到|赢得|赢取)(?=[^{_END}]{{0,4}}?{_REWARD_NOUN_ZH})"
    rf"|得(?:红包|现金|券|奖|积分|礼|{NUMBER}|¥|\$)"
    rf"|送(?:{NUMBER}|¥|\$|券|优惠券|礼|红包|现金|积分|会员)"
    rf"|返(?:现|利|{NUMBER}|¥|红包|券)|免费拿|拿(?:红包|现金|券|奖|礼)|抢(?:红包|现金|券))"
)
_SHARE_EN = (
    r"\b(?:share|shares|sharing|forward|forwarding|repost|reposting|send (?:it|this)"
    r"|invite|inviting|refer|referring|tag)\b"
)
# A reward verb ends the sentence ("forward and win") or is followed by what is won ("get ¥5",
# "earn a free coupon"), not by an idiom ("get ready", "get your own").
_REWARD_EN = (
    r"\b(?:get|gets|earn|earns|win|wins|receive|claim|collect|grab|score|bag)\b"
    rf"(?=\s*(?:[{_END}]|$)|(?:\s+(?:a|an|the|your|some|free|extra|bonus|more|\d+))*\s*"
    r"(?:[¥$€]|\d|cash|money|coupons?|vouchers?|points?|prizes?|rewards?|gifts?|discounts?"
    r"|red envelopes?|envelopes?|credits?|bonus|free\b|perks?))"
)

SHARE_REWARD = (
    re.compile(rf"{_SHARE_ZH}{_between(14)}{_REWARD_ZH}"),
    re.compile(r"每(?:次|个|位)?(?:分享|转发|邀请)"),
    re.compile(rf"{_SHARE_EN}{_between(40)}{_REWARD_EN}"),
    re.compile(r"\b(?:every|each|per)\s+(?:share|invite|forward|repost)\b"),
)
SHARE_TO_UNLOCK = (
    re.compile(
        rf"(?:分享|转发)[^{_END}]{{0,12}}?(?:后|才|方可|才能|就能|即可)(?:能|可)?"
        r"(?:查看|解锁|观看|阅读|继续|使用|下载|进入|开启|打开|看到|可见)"
    ),
    re.compile(
        rf"(?:查看|解锁|观看|阅读|继续|使用|下载)[^{_END}]{{0,8}}?(?:需|要|请)先?(?:分享|转发)"
    ),
    re.compile(
        rf"\b(?:share|forward|repost)\b[^{_END}]{{0,40}}?"
        r"\bto (?:unlock|see|view|read|access|open|continue|reveal)\b"
    ),
    re.compile(
        rf"\b(?:unlock|see|view|read|access|reveal)\b[^{_END}]{{0,40}}?"
        r"\bby (?:sharing|forwarding|reposting|inviting)\b"
    ),
    re.compile(
        r"\b(?:unlocks?|available|visible|opens?) (?:only )?after (?:you )?(?:share|sharing)\b"
    ),
)
COLLECT_LIKES = (
    re.compile(rf"集满?(?:{NUMBER})?个?赞|点赞数?(?:满|达|超过|到)|(?:满|够|凑){NUMBER}个?赞|求赞"),
    re.compile(rf"\b(?:collect|get|gather|reach)\b[^{_END}]{{0,15}}?\blikes\b"),
)
BARGAIN_HELP = (
    re.compile(
        rf"砍{NUMBER}?刀|帮(?:我|忙)?砍|砍价|砍到"
        rf"|(?:好友|朋友|帮我|帮忙|邀请|一起)[^{_END}]{{0,4}}助力|助力(?:免费|领|得|拿|砍)"
    ),
    re.compile(
        rf"\bhelp (?:me|us)\b[^{_END}]{{0,20}}?\b(?:cut|bargain|slash|chop|lower|knock)\b"
        r"|\bbargain (?:it )?down\b|\bcut the price\b"
        # "Cut to ¥29.90 with 3 more helpers": the short English card of a price cut
        rf"|\bcut (?:down )?to [¥$€]?\d[^{_END}]{{0,20}}?\bwith\b[^{_END}]{{0,20}}?\bhelpers?\b"
    ),
)
UNCERTAIN_REWARD = (
    re.compile(
        rf"最高(?:可|能)?(?:得|领|赢|返|奖|获|拿|赚|抽)[^{_END}]{{0,3}}?(?:{NUMBER}|¥|\$)"
        r"|随机(?:红包|金额|奖励|现金|奖)|(?:100%|百分百|百分之百|必)中奖|抽奖|幸运大?奖"
        r"|神秘大?(?:奖|礼|红包)|拼手气|金额不定|大奖"
    ),
    re.compile(
        r"\b(?:win|wins|get|earn|receive|grab|claim)s? (?:up to|as much as)\b"
        rf"|\b(?:up to|as much as) [¥$€]?\d[^{_END}]{{0,12}}?\b(?:cash|red envelopes?|prizes?)\b"
        r"|\bchances? to win\b|\brandom (?:reward|prize|amount|cash|gift)s?\b"
        r"|\bmystery (?:prize|reward|gift|box|envelope)s?\b|\blucky draw\b"
        r"|\bguaranteed (?:win|prize)\b"
    ),
)


def normalise(text: str) -> str:
    """The text as the patterns read it (see the module's docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return _SPACE_BY_CJK.sub("", re.sub(r"\s+", " ", visible)).strip()


def first_match(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    """The first phrase of the normalised text that a pattern matches, or None."""
    for pattern in patterns:
        for match in pattern.finditer(text):
            if pattern in SHARE_REWARD and _PURCHASE_AFTER.match(text[match.end() :]):
                continue  # "share ... and get ¥5 when they buy": a reward for a purchase
            return match.group(0)
    return None
