"""What a share shows outside the mini app: kinsave's landing page (the token to copy, and
whether the share still works) and the content of its QR code."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError
from kinsave.sharing import channels, offers, policy, render, target_terms, tokens
from kinsave.sharing.models import Share


def qr_content(
    session: Session, code: str, *, base_url: str, now: datetime, telegram_app: str | None = None
) -> str:
    """What the share's QR code encodes. Errors: not_found (also: QR not allowed, or the share
    no longer works)."""
    share = session.get(Share, code) if tokens.is_code(code) else None
    if share is None or share.revoked_at is not None or share.expires_at <= now:
        raise KinsaveError("not_found", "no such share")
    rules = policy.with_telegram_app(
        channels.current_rules(session, share.shop_id, share.channel), telegram_app
    )
    forms = render.share_forms(rules, code=code, target_type=share.target_type, base_url=base_url)
    if forms.qr_content is None:
        raise KinsaveError("not_found", "this channel does not allow QR codes")
    return forms.qr_content


@dataclass(frozen=True)
class Landing:
    token: str
    text: str
    status: str  # live | revoked | expired | unavailable


def landing_view(session: Session, code: str, *, base_url: str, now: datetime) -> Landing:
    """What kinsave's landing page shows for a share: the token and its copy text.
    Errors: not_found."""
    share = session.get(Share, code) if tokens.is_code(code) else None
    if share is None:
        raise KinsaveError("not_found", "no such share")
    status = share_status(session, share, now)
    rules = channels.current_rules(session, share.shop_id, share.channel)
    # A group's or price cut's terms as they are now (the count and the time left move).
    terms = target_terms.share_terms(session, share.target_type, share.target_id, now=now)
    forms = render.share_forms(
        rules, code=code, target_type=share.target_type, base_url=base_url, terms=terms
    )
    return Landing(token=forms.token, text=forms.text, status=status)


def share_status(session: Session, share: Share, now: datetime) -> str:
    """live | revoked | expired | unavailable (the store no longer offers the target)."""
    if share.revoked_at is not None:
        return "revoked"
    if share.expires_at <= now:
        return "expired"
    if not offers.target_available(session, share.shop_id, share.target_type, share.target_id):
        return "unavailable"
    return "live"
