"""Shares: create a share code and render it per channel, resolve pasted tokens, open short links,
revoke. The code is random (tokens.new_code); its expiry, use limit and revocation are checked on
every use, and the use count only grows by a conditional UPDATE, so a limit holds under races.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing import campaign_setup, channels, render, tokens
from kinsave.sharing.events import record_event
from kinsave.sharing.models import Share
from kinsave.sharing.policy import PolicyRules, domain_allowed
from kinsave.sharing.schemas import (
    ResolveIn,
    ResolveOut,
    ShareIn,
    ShareOut,
    StoreVisitIn,
    StoreVisitOut,
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
    session: Session, shopper_id: str, data: ShareIn, *, base_url: str, now: datetime
) -> ShareOut:
    """Create a share of a target on a channel and return every form the channel allows.

    Errors: not_found (campaign, shop or channel), invalid_request (no shop), campaign_not_active,
    campaign_not_publishable (the campaign breaks this channel's rules).
    """
    shop_id = _share_shop(session, data, now)
    rules = channels.current_rules(session, shop_id, data.channel)
    ttl, use_limit = DEFAULT_SHARE_TTL, None
    if data.campaign_id is not None:
        campaign_setup.require_publishable(session, shop_id, data.campaign_id, data.channel, rules)
        setup = campaign_setup.setup_of(session, data.campaign_id)
        ttl, use_limit = timedelta(seconds=setup.share_ttl_seconds), setup.share_use_limit
    share = Share(
        code=tokens.new_code(),
        shop_id=shop_id,
        campaign_id=data.campaign_id,
        sharer_id=shopper_id,
        channel=data.channel,
        target_type=data.target.type,
        target_id=data.target.id,
        device_hash=data.device_hash,
        use_limit=use_limit,
        use_count=0,
        created_at=now,
        expires_at=now + ttl,
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
    return share_view(session, share, rules, base_url=base_url)


def _share_shop(session: Session, data: ShareIn, now: datetime) -> str:
    if data.campaign_id is None:
        if data.shop_id is None or not auth.shop_exists(session, data.shop_id):
            raise KinsaveError("invalid_request", "name a campaign_id or an existing shop_id")
        return data.shop_id
    campaign = campaigns.find_campaign(session, data.campaign_id)
    if campaign is None or data.shop_id not in (None, campaign.shop_id):
        raise KinsaveError("not_found", "no such campaign")
    if campaign.status != "active" or not campaign.starts_at <= now < campaign.ends_at:
        raise KinsaveError("campaign_not_active", "this campaign is not running right now")
    return campaign.shop_id


def share_view(session: Session, share: Share, rules: PolicyRules, *, base_url: str) -> ShareOut:
    headline = ""
    if share.campaign_id is not None:
        headline = campaign_setup.setup_of(session, share.campaign_id).share_text
    forms = render.share_forms(
        rules, code=share.code, target_type=share.target_type, base_url=base_url, headline=headline
    )
    return ShareOut(
        code=share.code,
        token=forms.token,
        text=forms.text,
        link=forms.link,
        deep_link=forms.deep_link,
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
    )


def resolve_token(session: Session, shop_id: str, data: ResolveIn, now: datetime) -> ResolveOut:
    """The store resolves pasted text to the share's target; counts one use and records the touch.

    Errors: token_not_found_in_text (422), token_unknown (404, also another shop's code),
    token_revoked / token_expired / token_used_up (410).
    """
    code = tokens.find_code(data.text)
    if code is None:
        raise KinsaveError("token_not_found_in_text", "no share token in the pasted text")
    share = _live_share(session, code, shop_id, now)
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
    return ResolveOut(
        code=code,
        target=TargetIn(type=share.target_type, id=share.target_id),
        attribution=code,
        campaign_id=share.campaign_id,
        channel=share.channel,
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
    store_base_url: str,
    now: datetime,
) -> LinkOpened:
    """Record a short-link open (bots flagged, not counted) and choose where it leads: the store's
    page when the channel lets links reach the store's domain, else kinsave's landing page.
    A revoked or expired share leads to the landing page, which says so. Errors: not_found.
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
    landing = f"{base_url.rstrip('/')}/app/s/{code}"
    if share.revoked_at is not None or share.expires_at <= now:
        return LinkOpened(location=landing, counted=not is_bot)
    rules = channels.current_rules(session, share.shop_id, share.channel)
    base = store_base_url if urlsplit(store_base_url).hostname else base_url + store_base_url
    target = render.store_url(
        base, target_type=share.target_type, target_id=share.target_id, code=code
    )
    allowed = domain_allowed(rules, urlsplit(target).hostname)
    return LinkOpened(location=target if allowed else landing, counted=not is_bot)


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
    return ResolveOut(
        code=code,
        target=TargetIn(type=share.target_type, id=share.target_id),
        attribution=code,
        campaign_id=share.campaign_id,
        channel=share.channel,
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


def qr_content(session: Session, code: str, *, base_url: str, now: datetime) -> str:
    """What the share's QR code encodes. Errors: not_found (also: QR not allowed, or the share
    no longer works)."""
    share = session.get(Share, code) if tokens.is_code(code) else None
    if share is None or share.revoked_at is not None or share.expires_at <= now:
        raise KinsaveError("not_found", "no such share")
    rules = channels.current_rules(session, share.shop_id, share.channel)
    forms = render.share_forms(rules, code=code, target_type=share.target_type, base_url=base_url)
    if forms.qr_content is None:
        raise KinsaveError("not_found", "this channel does not allow QR codes")
    return forms.qr_content


@dataclass(frozen=True)
class Landing:
    token: str
    text: str
    status: str  # live | revoked | expired


def landing(session: Session, code: str, *, base_url: str, now: datetime) -> Landing:
    """What kinsave's landing page shows for a share: the token and its copy text.
    Errors: not_found."""
    share = session.get(Share, code) if tokens.is_code(code) else None
    if share is None:
        raise KinsaveError("not_found", "no such share")
    status = "live"
    if share.revoked_at is not None:
        status = "revoked"
    elif share.expires_at <= now:
        status = "expired"
    rules = channels.current_rules(session, share.shop_id, share.channel)
    forms = render.share_forms(rules, code=code, target_type=share.target_type, base_url=base_url)
    return Landing(token=forms.token, text=forms.text, status=status)


def record_store_visit(
    session: Session, shop_id: str, data: StoreVisitIn, now: datetime
) -> StoreVisitOut:
    """Count a store visit for the funnel. A handle that names no share of this shop is recorded
    without a share (it counts for nobody) rather than refused: a visit is a fact, not a claim."""
    code = tokens.handle_code(data.attribution)
    recorded_code = code if code and _shop_share_exists(session, code, shop_id) else None
    record_event(
        session,
        kind="store_visit",
        shop_id=shop_id,
        share_code=recorded_code,
        shopper_id=data.shopper_id,
        device_hash=data.device_hash,
        occurred_at=now,
    )
    return StoreVisitOut(share_code=recorded_code)


def _shop_share_exists(session: Session, code: str, shop_id: str) -> bool:
    share = session.get(Share, code)
    return share is not None and share.shop_id == shop_id


def payment_methods(session: Session, shop_id: str, channel: str) -> list[str]:
    """The payment methods the channel's policy in force allows at checkout (e.g. "wallet",
    "card", "wechat_pay"). Errors: not_found for a channel this shop does not have."""
    return list(channels.current_rules(session, shop_id, channel).payment_methods)
