"""Where a start or join arrives from, and whether the deal takes that channel.

The channel is the share's when the shopper came through a share of this group (its code, which
the mini app's open page passes on as X-Share-Code); otherwise the one the request names
(X-Channel: the host the mini app runs in). A share that does not lead to this group (unknown,
revoked, expired, another target) is not the way they came: its code is dropped, not refused.
A deal with an empty channel list takes every channel; a request that names no channel and came
through no share is the mini app's own page, which is no sharing channel, and is taken.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing import tokens
from kinsave.sharing.models import Share

register_codes({"channel_not_allowed": 403})


@dataclass(frozen=True)
class Arrival:
    channel: str | None = None
    share_code: str | None = None  # a live share of the group joined: the join is its


def arrival(
    session: Session,
    *,
    share_code: str | None,
    channel: str | None,
    group_id: str | None,
    now: datetime,
) -> Arrival:
    """The channel and share a request arrived through (see the module's docstring)."""
    share = live_share_of(session, share_code, ("group", group_id), now) if group_id else None
    if share is not None:
        return Arrival(channel=share.channel, share_code=share.code)
    return Arrival(channel=channel or None)


def live_share_of(
    session: Session, share_code: str | None, target: tuple[str, str], now: datetime
) -> Share | None:
    """The share `share_code` names when it is live and leads to `target` (type, id), else None
    (a code that does not lead there is dropped, not refused). Price-cut helps use it too."""
    share = session.get(Share, share_code) if share_code and tokens.is_code(share_code) else None
    if share is None or share.revoked_at is not None or share.expires_at <= now:
        return None
    return share if (share.target_type, share.target_id) == target else None


def require_channel(deal_channels: list[str], channel: str | None) -> None:
    """Errors: channel_not_allowed (403) when the deal names its channels and this is not one."""
    if deal_channels and channel is not None and channel not in deal_channels:
        raise KinsaveError(
            "channel_not_allowed",
            "this group deal is not offered on this channel",
            details={"channel": channel, "allowed": list(deal_channels)},
        )
