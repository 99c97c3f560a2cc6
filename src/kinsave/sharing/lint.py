"""Pure: lint a campaign's sharing setup against a channel policy before it goes live there.

Names what the host forbids: wording that rewards the act of sharing, a help request that hides how
many helpers it needs, random rewards where the host bans them. An empty list means publishable.
"""

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from kinsave.sharing.policy import PolicyRules

# "Share to get a red envelope / coupon / help" and its usual spellings. Rewards for a purchase
# ("when your friend buys") are fine everywhere and not matched.
_SHARE_REWARD = re.compile(
    r"(share|forward|repost|send)\s*(it\s*)?(to|and|&|\+)\s*(get|earn|win|receive|unlock|claim)"
    r"|(every|each|per)\s+share"
    r"|(分享|转发|邀请).{0,4}(得|领|送|赚|拿|抢|获)"
    r"|每(次)?(分享|转发)",
    re.IGNORECASE,
)


class HelpRequestSetup(BaseModel):
    enabled: bool = False
    shows_helper_count: bool = True


class CampaignSharingLintInput(BaseModel):
    """The sharing-related parts of a campaign that a host's rules care about."""

    share_text: str = Field(default="", max_length=500)
    reward_text: str = Field(default="", max_length=500)
    help_requests: HelpRequestSetup = Field(default_factory=HelpRequestSetup)
    random_rewards: bool = False


@dataclass(frozen=True)
class Violation:
    code: str
    message: str


def lint_campaign(setup: CampaignSharingLintInput, rules: PolicyRules) -> list[Violation]:
    """Every rule of this host the campaign breaks, in a stable order."""
    violations: list[Violation] = []
    if not rules.share_reward_wording_allowed:
        for field, text in (("share_text", setup.share_text), ("reward_text", setup.reward_text)):
            if _SHARE_REWARD.search(text):
                violations.append(Violation("share_reward", f"{field} rewards the act of sharing"))
    if rules.help_count_must_show and setup.help_requests.enabled:
        if not setup.help_requests.shows_helper_count:
            violations.append(
                Violation("help_count_hidden", "help requests must show how many helpers they need")
            )
    if not rules.random_rewards_allowed and setup.random_rewards:
        violations.append(Violation("random_reward", "this host bans random rewards"))
    return violations
