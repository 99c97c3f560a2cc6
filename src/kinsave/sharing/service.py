"""Shares: create a share code and render it per channel, revoke it. The code is random
(tokens.new_code); opening a share (its link, its pasted token, the mini app) is opening.py, which
checks its expiry, use limit and revocation on every use.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing import (
    campaign_setup,
    channels,
    offers,
    policy,
    render,
    target_terms,
    tokens,
)
from kinsave.sharing.events import record_event
from kinsave.sharing.models import Share
from kinsave.sharing.policy import PolicyRules
from kinsave.sharing.schemas import (
    MiniAppCardOut,
    ShareIn,
    ShareOut,
    TargetIn,
)

register_codes({"campaign_not_publishable": 409})

DEFAULT_SHARE_TTL = timedelta(days=30)


def create_share(
    session: Session,
    shopper_id: str,
    data: ShareIn,
    *,
    base_url: str,
    now: datetime,
    telegram_app: str | None = None,
) -> ShareOut:
    """Create a share of a target on a channel and return every form the channel allows.

    A share of a deal carries the best coupon its shop offers for the product now, a share of a
    coupon that coupon (offers.py). Errors: not_found (campaign, shop or channel),
    invalid_request (no shop), campaign_not_active, campaign_not_publishable (the campaign
    breaks this channel's rules), target_unavailable (410: the shop's catalog does not carry the
    product, the coupon has ended or is another shop's, the envelope or help request is unknown
    or another shop's). `telegram_app`: the deployment's Mini App link (telegram.identity), for
    Telegram deep links whose policy leaves the base to the bot.
    """
    shop_id = _share_shop(session, data, now)
    rules = channels.current_rules(session, shop_id, data.channel)
    lifetime = _share_lifetime(session, shop_id, data, rules)
    carried = offers.carried_coupon(session, shop_id, data.target.type, data.target.id, now)
    offers.require_share_channel(session, data.target.type, data.target.id, data.channel)
    share = _add_share(session, shopper_id, shop_id, data, lifetime, carried, now)
    return share_view(
        session, share, rules, base_url=base_url, language=data.language, telegram_app=telegram_app
    )


@dataclass(frozen=True)
class ShareLifetime:
    ttl: timedelta
    use_limit: int | None  # None: as often as it is used until it expires


def _share_lifetime(
    session: Session, shop_id: str, data: ShareIn, rules: PolicyRules
) -> ShareLifetime:
    """A campaign's share lives as its setup says, once the campaign may be published on this
    channel (campaign_not_publishable); any other share for DEFAULT_SHARE_TTL, without a limit."""
    if data.campaign_id is None:
        return ShareLifetime(DEFAULT_SHARE_TTL, None)
    campaign_setup.require_publishable(session, shop_id, data.campaign_id, data.channel, rules)
    setup = campaign_setup.setup_of(session, data.campaign_id)
    return ShareLifetime(timedelta(seconds=setup.share_ttl_seconds), setup.share_use_limit)


def _add_share(
    session: Session,
    shopper_id: str,
    shop_id: str,
    data: ShareIn,
    lifetime: ShareLifetime,
    carried_coupon: str | None,
    now: datetime,
) -> Share:
    """The new share, flushed, with its `share_created` event."""
    share = Share(
        code=tokens.new_code(),
        shop_id=shop_id,
        campaign_id=data.campaign_id,
        sharer_id=shopper_id,
        channel=data.channel,
        target_type=data.target.type,
        target_id=data.target.id,
        device_hash=data.device_hash,
        use_limit=lifetime.use_limit,
        use_count=0,
        created_at=now,
        expires_at=now + lifetime.ttl,
        coupon_template_id=carried_coupon,
    )
    session.add(share)
    session.flush()
    record_event(
        session,
        kind="share_created",
        shop_id=shop_id,
        share_code=share.code,
        shopper_id=shopper_id,
        device_hash=data.device_hash,
        channel_identity=data.channel_identity,
        occurred_at=now,
    )
    return share


def _share_shop(session: Session, data: ShareIn, now: datetime) -> str:
    """The share's shop: the campaign's, or the one named, or the one the target names (a coupon,
    an envelope or a help request belongs to one shop, and a share of it counts only there)."""
    target_shop = offers.target_shop(session, data.target.type, data.target.id)
    if data.campaign_id is None:
        shop_id = data.shop_id or target_shop
        if shop_id is None and data.target.type != "deal":  # an unknown coupon, envelope, ...
            raise KinsaveError("target_unavailable", offers.UNAVAILABLE[data.target.type])
        if shop_id is None or not auth.shop_exists(session, shop_id):
            raise KinsaveError("invalid_request", "name a campaign_id or an existing shop_id")
    else:
        campaign = campaigns.find_campaign(session, data.campaign_id)
        if campaign is None or data.shop_id not in (None, campaign.shop_id):
            raise KinsaveError("not_found", "no such campaign")
        if campaign.status != "active" or not campaign.starts_at <= now < campaign.ends_at:
            raise KinsaveError("campaign_not_active", "this campaign is not running right now")
        shop_id = campaign.shop_id
    if target_shop not in (None, shop_id):
        raise KinsaveError("target_unavailable", offers.UNAVAILABLE[data.target.type])
    return shop_id


def share_view(
    session: Session,
    share: Share,
    rules: PolicyRules,
    *,
    base_url: str,
    language: str = "en",
    telegram_app: str | None = None,
) -> ShareOut:
    # A group's or price cut's terms come first (hosts' rules), a campaign's text after them.
    terms = target_terms.share_terms(
        session, share.target_type, share.target_id, now=share.created_at
    )
    campaign_text = ""
    if share.campaign_id is not None:
        campaign_text = campaign_setup.setup_of(session, share.campaign_id).share_text
    forms = render.share_forms(
        policy.with_telegram_app(rules, telegram_app),
        code=share.code,
        target_type=share.target_type,
        base_url=base_url,
        headline=campaign_text,
        terms=terms,
        language=language,
        picture_url=offers.target_picture(session, share),
    )
    card = forms.card
    return ShareOut(
        code=share.code,
        token=forms.token,
        text=forms.text,
        link=forms.link,
        deep_link=forms.deep_link,
        mini_app_card=MiniAppCardOut(**asdict(card)) if card else None,
        qr_svg=render.qr_svg(forms.qr_content) if forms.qr_content else None,
        qr_png_url=f"{base_url.rstrip('/')}/v1/shares/{share.code}/qr.png"
        if forms.qr_content
        else None,
        channel=share.channel,
        target=TargetIn(type=share.target_type, id=share.target_id),
        campaign_id=share.campaign_id,
        payment_methods=rules.payment_methods,
        created_at=share.created_at,
        expires_at=share.expires_at,
        use_limit=share.use_limit,
        coupon_template_id=share.coupon_template_id,
    )


def revoke_share(
    session: Session,
    code: str,
    *,
    sharer_id: str | None = None,
    shop_id: str | None = None,
    now: datetime,
) -> None:
    """Withdraw a share; its token and link stop working. Only its sharer or an operator of its
    shop may; anyone else gets not_found. Revoking twice is a no-op."""
    share = session.get(Share, code) if tokens.is_code(code) else None
    if share is None or (sharer_id is not None and share.sharer_id != sharer_id):
        raise KinsaveError("not_found", "no such share")
    if shop_id is not None and share.shop_id != shop_id:
        raise KinsaveError("not_found", "no such share")
    if share.revoked_at is None:
        share.revoked_at = now
        session.flush()


# The policy's part of the checkout quote's one read (coupons/quote_inputs.py).
POLICY_RULES_SQL = channels.POLICY_RULES_SQL
CHANNEL_ADDED_SQL = channels.CHANNEL_ADDED_SQL
payment_methods_read = channels.payment_methods_read


def payment_methods(session: Session, shop_id: str, channel: str) -> list[str]:
    """The payment methods the channel's policy in force allows at checkout (e.g. "wallet",
    "card", "wechat_pay"). Errors: not_found for a channel this shop does not have."""
    return list(channels.current_rules(session, shop_id, channel).payment_methods)
