"""A share opened: its short link followed (open_link), its token pasted into a store
(resolve_token), or the share followed into the mini app (open_in_mini_app, accept_share). Each
checks the share's expiry, use limit and revocation on this use; a resolve's use count only grows
by a conditional UPDATE, so a limit holds under races. Creating and revoking shares: service.py.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing import channels, landing, offers, store_landing, tokens
from kinsave.sharing.events import record_event
from kinsave.sharing.models import Share
from kinsave.sharing.offers import TravelledCoupon
from kinsave.sharing.policy import domain_allowed
from kinsave.sharing.schemas import ResolveIn, ResolveOut, TargetIn
from kinsave.social import service as social

register_codes(
    {
        "token_unknown": 404,
        "token_expired": 410,
        "token_revoked": 410,
        "token_used_up": 410,
        "token_not_found_in_text": 422,
    }
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
