"""Shares: create a share code and render it per channel, resolve pasted tokens, open short links,
revoke. The code is random (tokens.new_code); its expiry, use limit and revocation are checked on
every use, and the use count only grows by a conditional UPDATE, so a limit holds under races.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing import (
    campaign_setup,
    channels,
    landing,
    offers,
    policy,
    render,
    store_landing,
    target_terms,
    tokens,
)
from kinsave.sharing.events import record_event
from kinsave.sharing.models import Share
from kinsave.sharing.offers import TravelledCoupon
from kinsave.sharing.policy import PolicyRules, domain_allowed
from kinsave.sharing.schemas import (
    MiniAppCardOut,
    ResolveIn,
    ResolveOut,
    ShareIn,
    ShareOut,
    TargetIn,
)
from kinsave.social import service as social

register_codes(
    {
        "token_unknown": 404,
        "token_expired": 410,
        "token_revoked": 410,
        "token_used_up": 410,
        "token_not_found_in_text": 422,
        "campaign_not_publishable": 409,
    }
)

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


def resolve_token(
    session: Session,
    shop_id: str,
    data: ResolveIn,
    *,
    base_url: str,
    now: datetime,
) -> ResolveOut:
    """The store resolves pasted text to the share's target and the page its landing template
    names; counts one use and records the touch. With `shopper_id`, the coupon the share carries
    is claimed for that shopper (once per share and shopper; a refused claim is answered in
    `coupon_refusal` and does not fail the resolve).

    Errors: token_not_found_in_text (422), token_unknown (404, also another shop's code),
    token_revoked / token_expired / token_used_up / target_unavailable (410).
    """
    code = tokens.find_code(data.text)
    if code is None:
        raise KinsaveError("token_not_found_in_text", "no share token in the pasted text")
    share = _live_share(session, code, shop_id, now)
    offers.require_target(session, shop_id, share.target_type, share.target_id)
    _count_use(session, code)
    record_event(
        session,
        kind="token_resolved",
        shop_id=shop_id,
        share_code=code,
        shopper_id=data.shopper_id,
        device_hash=data.device_hash,
        channel_identity=data.channel_identity,
        occurred_at=now,
    )
    travelled = TravelledCoupon()
    if data.shopper_id is not None:
        travelled = offers.claim_travelled_coupon(session, share, data.shopper_id, now)
    return _resolved(
        share,
        landing_url=_store_page(session, share, base_url),
        offered_coupon=offers.offered_coupon(session, share),
        claimed_coupons=travelled.claimed,
        coupon_refusal=travelled.refusal,
    )


def _count_use(session: Session, code: str) -> None:
    """One more use, by a conditional UPDATE so that the use limit holds under races.
    Errors: token_used_up."""
    used = session.execute(
        update(Share)
        .where(
            Share.code == code,
            or_(Share.use_limit.is_(None), Share.use_count < Share.use_limit),
        )
        .values(use_count=Share.use_count + 1)
        .execution_options(synchronize_session=False)
    )
    if not used.rowcount:  # type: ignore[attr-defined]
        raise KinsaveError("token_used_up", "this share has been used as often as it may")


def _resolved(share: Share, **found: Any) -> ResolveOut:
    """A resolve's answer: the share's target and attribution, and what else the caller `found`
    (the store's page, the coupons)."""
    return ResolveOut(
        code=share.code,
        target=TargetIn(type=share.target_type, id=share.target_id),
        attribution=share.code,
        campaign_id=share.campaign_id,
        channel=share.channel,
        **found,
    )


def _store_page(session: Session, share: Share, base_url: str) -> str | None:
    return store_landing.landing_url(
        session,
        share.shop_id,
        target_type=share.target_type,
        target_id=share.target_id,
        code=share.code,
        base_url=base_url,
    )


def _live_share(session: Session, code: str, shop_id: str | None, now: datetime) -> Share:
    share = session.get(Share, code)
    if share is None or (shop_id is not None and share.shop_id != shop_id):
        raise KinsaveError("token_unknown", "no share with this token")
    if share.revoked_at is not None:
        raise KinsaveError("token_revoked", "the sharer withdrew this share")
    if share.expires_at <= now:
        raise KinsaveError("token_expired", "this share has expired")
    return share


@dataclass(frozen=True)
class LinkOpened:
    location: str
    counted: bool


def open_link(
    session: Session,
    code: str,
    *,
    is_bot: bool,
    base_url: str,
    now: datetime,
) -> LinkOpened:
    """Record a short-link open (bots flagged, not counted) and choose where it leads: the store's
    page its landing template names, when there is one and the channel lets links reach its
    domain, else kinsave's landing page. A revoked or expired share, or one whose target the
    store no longer offers, leads to the landing page, which says so. Errors: not_found.
    """
    share = session.get(Share, code) if tokens.is_code(code) else None
    if share is None:
        raise KinsaveError("not_found", "no such share")
    record_event(
        session,
        kind="link_opened",
        shop_id=share.shop_id,
        share_code=code,
        is_bot=is_bot,
        occurred_at=now,
    )
    return LinkOpened(location=_link_target(session, share, base_url, now), counted=not is_bot)


def _link_target(session: Session, share: Share, base_url: str, now: datetime) -> str:
    kinsave_page = f"{base_url.rstrip('/')}/app/s/{share.code}"
    if landing.share_status(session, share, now) != "live":
        return kinsave_page
    if share.target_type in ("group", "price_cut"):  # they live in the mini app, not the store
        return f"{base_url.rstrip('/')}/app/open/{share.code}"
    rules = channels.current_rules(session, share.shop_id, share.channel)
    target = _store_page(session, share, base_url)
    allowed = target is not None and domain_allowed(rules, urlsplit(target).hostname)
    return target if target and allowed else kinsave_page


# The mini app's own page of a target it can show itself (a deal or coupon lives in the store).
# A group or price cut page gets the share's code, so the join it leads to is the share's.
MINI_APP_PAGES = {
    "envelope": "/app/e/{id}",
    "help": "/app/help/{id}",
    "group": "/app/groups/{id}?share={code}",
    "price_cut": "/app/price-cuts/{id}?share={code}",
}


def open_in_mini_app(
    session: Session, shopper_id: str, code: str, *, base_url: str, now: datetime
) -> str:
    """Where the mini app opens for a share a signed-in shopper followed into it (Telegram's
    startapp): the touch is recorded as theirs (accept_share), then an envelope, help request,
    group or price cut opens on its own page, a deal or coupon where a short link would lead. A
    share that no longer works opens its landing page, which says so; an unknown code the mini
    app's home."""
    try:
        accept_share(session, shopper_id, code, device_hash=None, now=now)
    except KinsaveError:
        known = tokens.is_code(code) and session.get(Share, code) is not None
        return f"/app/s/{code}" if known else "/app"
    share = session.get(Share, code)
    assert share is not None  # accept_share found it
    page = MINI_APP_PAGES.get(share.target_type)
    if page and landing.share_status(session, share, now) == "live":
        return page.format(id=quote(share.target_id, safe=""), code=share.code)
    return _link_target(session, share, base_url, now)


def accept_share(
    session: Session, shopper_id: str, code: str, *, device_hash: str | None, now: datetime
) -> ResolveOut:
    """A signed-in shopper opened a share in the mini app: records the touch under their id, so
    a later order can be attributed even when the store sends no handle.

    Errors: token_unknown, token_revoked, token_expired.
    """
    share = _live_share(session, code, None, now)
    record_event(
        session,
        kind="link_opened",
        shop_id=share.shop_id,
        share_code=code,
        shopper_id=shopper_id,
        device_hash=device_hash,
        occurred_at=now,
    )
    if share.sharer_id != shopper_id:  # accepting someone's share makes you relatives
        social.link_relatives(session, share.sharer_id, shopper_id, via="share")
    return _resolved(share)


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
