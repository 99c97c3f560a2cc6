"""A campaign's sharing setup (window, model, referral reward, wording) and its lint per channel.

A campaign is publishable on a channel when the lint against that channel's current policy is
empty; shares on a channel where it is not are refused (campaign_not_publishable). Editing a
policy re-lints every campaign of the shop and returns the result with the new version.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.campaigns import service as campaigns
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.sharing import channels
from kinsave.sharing.lint import CampaignSharingLintInput, Violation, lint_campaign
from kinsave.sharing.models import CampaignSharing
from kinsave.sharing.policy import PolicyRules
from kinsave.sharing.schemas import (
    CampaignLintOut,
    CampaignSharingIn,
    CampaignSharingOut,
    ChannelLintOut,
    PolicyIn,
    PolicyUpdateOut,
    ViolationOut,
)


def setup_of(session: Session, campaign_id: str) -> CampaignSharingIn:
    """The campaign's sharing setup; the defaults (no referral reward) when never set."""
    row = session.get(CampaignSharing, campaign_id)
    return CampaignSharingIn.model_validate(row.setup) if row else CampaignSharingIn()


def get_setup(session: Session, shop_id: str, campaign_id: str) -> CampaignSharingOut:
    """Errors: not_found (another shop's campaign too)."""
    campaigns.owned_campaign(session, shop_id, campaign_id)
    setup = setup_of(session, campaign_id)
    return CampaignSharingOut(
        campaign_id=campaign_id, setup=setup, lint=_lint_all(session, shop_id, campaign_id, setup)
    )


def put_setup(
    session: Session, shop_id: str, campaign_id: str, data: CampaignSharingIn
) -> CampaignSharingOut:
    """Replace the campaign's sharing setup; returns it with its lint. Errors: not_found."""
    campaigns.owned_campaign(session, shop_id, campaign_id)
    row = session.get(CampaignSharing, campaign_id)
    if row is None:
        row = CampaignSharing(campaign_id=campaign_id, shop_id=shop_id)
        session.add(row)
    row.setup = data.model_dump(mode="json")
    row.updated_at = utcnow()
    session.flush()
    return get_setup(session, shop_id, campaign_id)


def lint(session: Session, shop_id: str, campaign_id: str) -> CampaignLintOut:
    """The campaign against every channel of its shop. Errors: not_found."""
    campaigns.owned_campaign(session, shop_id, campaign_id)
    return _lint_all(session, shop_id, campaign_id, setup_of(session, campaign_id))


def require_publishable(
    session: Session, shop_id: str, campaign_id: str, channel: str, rules: PolicyRules
) -> None:
    """Errors: campaign_not_publishable (409) naming each violation."""
    violations = lint_campaign(_lint_input(setup_of(session, campaign_id)), rules)
    if violations:
        raise KinsaveError(
            "campaign_not_publishable",
            f"the campaign breaks {channel}'s rules: " + "; ".join(v.message for v in violations),
            details={"channel": channel, "violations": [v.code for v in violations]},
        )


def update_policy_and_relint(
    session: Session, shop_id: str, channel: str, data: PolicyIn
) -> PolicyUpdateOut:
    """Store a new policy version, then lint every campaign of the shop that has a sharing
    setup against it. Errors: not_found, conflict."""
    version = channels.update_policy(session, shop_id, channel, data)
    campaign_ids = session.execute(
        select(CampaignSharing.campaign_id)
        .where(CampaignSharing.shop_id == shop_id)
        .order_by(CampaignSharing.campaign_id)
    ).scalars()
    lints = []
    for campaign_id in campaign_ids:
        violations = lint_campaign(_lint_input(setup_of(session, campaign_id)), version.rules)
        lints.append(
            CampaignLintOut(campaign_id=campaign_id, channels=[_channel_lint(channel, violations)])
        )
    return PolicyUpdateOut(channel=channel, policy=version, lint=lints)


def _lint_all(
    session: Session, shop_id: str, campaign_id: str, setup: CampaignSharingIn
) -> CampaignLintOut:
    lint_input = _lint_input(setup)
    results = [
        _channel_lint(
            name, lint_campaign(lint_input, channels.current_rules(session, shop_id, name))
        )
        for name in channels.channel_names(session, shop_id)
    ]
    return CampaignLintOut(campaign_id=campaign_id, channels=results)


def _lint_input(setup: CampaignSharingIn) -> CampaignSharingLintInput:
    return CampaignSharingLintInput.model_validate(
        setup.model_dump(include=set(CampaignSharingLintInput.model_fields))
    )


def _channel_lint(channel: str, violations: list[Violation]) -> ChannelLintOut:
    return ChannelLintOut(
        channel=channel,
        publishable=not violations,
        violations=[ViolationOut(code=v.code, message=v.message) for v in violations],
    )
