"""Pure: lint a campaign's sharing setup against a channel policy before it goes live there.

Each rule has an id (the violation's code), the host rule it comes from, the policy switch that
turns it on, and what it checks: the campaign's structure (its setup fields) and its texts
(`share_text`, `reward_text`, in zh-CN or English, matched after normalisation:
sharing/lint_phrases.py). An empty list means publishable. docs/sharing.md has the table.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from kinsave.sharing import lint_phrases
from kinsave.sharing.policy import PolicyRules


class HelpRequestSetup(BaseModel):
    enabled: bool = False
    shows_helper_count: bool = True


class GroupDealSetup(BaseModel):
    """How the campaign's group deal (拼团) pages present a group where they are shared."""

    enabled: bool = False
    shows_price: bool = True
    shows_needed: bool = True  # how many members are still needed
    shows_time_left: bool = True


class CampaignSharingLintInput(BaseModel):
    """The sharing-related parts of a campaign that a host's rules care about."""

    share_text: str = Field(default="", max_length=500)
    reward_text: str = Field(default="", max_length=500)
    help_requests: HelpRequestSetup = Field(default_factory=HelpRequestSetup)
    group_deals: GroupDealSetup = Field(default_factory=GroupDealSetup)
    random_rewards: bool = False
    shares_for_reward: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Shares or invitations a shopper must make to earn a reward (0: rewards "
        "pay for purchases only).",
    )
    unlocked_by_sharing: bool = Field(
        default=False,
        description="Something (a coupon, an envelope, a page) opens only after the shopper "
        "shares.",
    )


@dataclass(frozen=True)
class Violation:
    code: str
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str  # what the campaign does wrong, after the field's name
    host_rule: str  # where the host says so
    applies: Callable[[PolicyRules], bool]
    structure: Callable[[CampaignSharingLintInput], str | None]  # why the setup breaks it
    phrases: tuple[re.Pattern[str], ...] = ()


def _bans_share_inducement(rules: PolicyRules) -> bool:
    return not rules.share_reward_wording_allowed


def _no_structure(_setup: CampaignSharingLintInput) -> str | None:
    return None


def _reward_needs_shares(setup: CampaignSharingLintInput) -> str | None:
    if setup.shares_for_reward > 0:
        return f"shares_for_reward: a reward needs {setup.shares_for_reward} shares"
    return None


def _unlocked_by_sharing(setup: CampaignSharingLintInput) -> str | None:
    return (
        "unlocked_by_sharing: a feature opens only after sharing"
        if setup.unlocked_by_sharing
        else None
    )


def _helper_count_hidden(setup: CampaignSharingLintInput) -> str | None:
    help_requests = setup.help_requests
    if help_requests.enabled and not help_requests.shows_helper_count:
        return "help requests must show how many helpers they need"
    return None


def _group_terms_hidden(setup: CampaignSharingLintInput) -> str | None:
    groups = setup.group_deals
    if not groups.enabled:
        return None
    hidden = [
        what
        for what, shown in (
            ("the group price", groups.shows_price),
            ("how many are still needed", groups.shows_needed),
            ("the time left", groups.shows_time_left),
        )
        if not shown
    ]
    return "group deal pages must show " + ", ".join(hidden) if hidden else None


def _random_reward(setup: CampaignSharingLintInput) -> str | None:
    return "this host bans random rewards" if setup.random_rewards else None


INDUCED_SHARING = "WeChat 外部链接内容管理规范, 诱导分享类"
RULES: tuple[Rule, ...] = (
    Rule(
        "share_reward",
        "rewards the act of sharing",
        f"{INDUCED_SHARING}: rewards (cash, red envelopes, coupons, points, gifts) for sharing "
        "or inviting friends",
        _bans_share_inducement,
        _reward_needs_shares,
        lint_phrases.SHARE_REWARD,
    ),
    Rule(
        "share_to_unlock",
        "locks something behind sharing",
        f"{INDUCED_SHARING}: sharing required before the next step, the content or a feature",
        _bans_share_inducement,
        _unlocked_by_sharing,
        lint_phrases.SHARE_TO_UNLOCK,
    ),
    Rule(
        "collect_likes",
        "asks for likes (集赞) for a reward",
        f"{INDUCED_SHARING}; 朋友圈: 集赞 (collecting likes on a share) for a reward",
        _bans_share_inducement,
        _no_structure,
        lint_phrases.COLLECT_LIKES,
    ),
    Rule(
        "bargain_help",
        "asks friends to help cut a price (砍一刀, 助力)",
        f"{INDUCED_SHARING}: 砍价 / 助力, friends' taps lowering a price or unlocking a reward",
        _bans_share_inducement,
        _no_structure,
        lint_phrases.BARGAIN_HELP,
    ),
    Rule(
        "help_count_hidden",
        "hides how many helpers a help request needs",
        f"{INDUCED_SHARING}: a helper-count mechanic must not mislead the helper about how "
        "many taps are needed",
        lambda rules: rules.help_count_must_show,
        _helper_count_hidden,
    ),
    Rule(
        "group_terms_hidden",
        "hides a group's price, members still needed or time left",
        f"{INDUCED_SHARING}: a group-buying share must state up front what the group costs, "
        "how many people it still needs and until when",
        lambda rules: rules.help_count_must_show,
        _group_terms_hidden,
    ),
    Rule(
        "random_reward",
        "promises a random, uncertain or exaggerated reward",
        "WeChat 外部链接内容管理规范: exaggerated or uncertain rewards (最高可得, 随机金额, 抽奖)",
        lambda rules: not rules.random_rewards_allowed,
        _random_reward,
        lint_phrases.UNCERTAIN_REWARD,
    ),
)


def lint_campaign(setup: CampaignSharingLintInput, rules: PolicyRules) -> list[Violation]:
    """Every rule of this host the campaign breaks, in the order of RULES: for each rule its
    structure first, then share_text, then reward_text."""
    violations: list[Violation] = []
    texts = {
        "share_text": lint_phrases.normalise(setup.share_text),
        "reward_text": lint_phrases.normalise(setup.reward_text),
    }
    for rule in RULES:
        if not rule.applies(rules):
            continue
        reason = rule.structure(setup)
        if reason is not None:
            violations.append(Violation(rule.id, reason))
        for field, text in texts.items():
            phrase = lint_phrases.first_match(rule.phrases, text) if rule.phrases else None
            if phrase is not None:
                violations.append(Violation(rule.id, f"{field} {rule.summary} ({phrase!r})"))
    return violations
