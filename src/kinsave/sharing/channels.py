"""Channels and their versioned policies, per shop.

Built-in channels exist for every shop without a row; their policy is the built-in default
(version 0) until an operator edits it. Every edit inserts a new version row, so the history is
readable and two concurrent edits cannot both become version N (unique (shop, channel, version)).
"""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.sharing.models import Channel, ChannelPolicy
from kinsave.sharing.policy import BUILTIN_CHANNELS, PolicyRules, default_policy
from kinsave.sharing.schemas import (
    ChannelListOut,
    ChannelOut,
    PolicyIn,
    PolicyOut,
    PolicyVersionOut,
)

# Built-in defaults ship with the code; this is the date shown for their version 0.
_DEFAULTS_DATED = datetime(2026, 1, 1, tzinfo=UTC)
# The rules in force (JSON text; NULL: the built-in default) and whether an operator added the
# channel, for statements that read them together with other things (the checkout quote's one
# round trip: coupons/quote_inputs.py). Parameters :shop_id and :channel.
POLICY_RULES_SQL = (
    "(SELECT CAST(rules AS TEXT) FROM channel_policy WHERE shop_id = :shop_id"
    " AND channel = :channel ORDER BY version DESC LIMIT 1)"
)
CHANNEL_ADDED_SQL = (
    "EXISTS (SELECT 1 FROM sharing_channel WHERE shop_id = :shop_id AND name = :channel)"
)
_MAX_REMEMBERED_RULES = 1024
_methods_of_rules: dict[tuple[str, str | None], tuple[str, ...]] = {}


def channel_names(session: Session, shop_id: str) -> list[str]:
    added = session.execute(
        select(Channel.name).where(Channel.shop_id == shop_id).order_by(Channel.name)
    ).scalars()
    return [*BUILTIN_CHANNELS, *(name for name in added if name not in BUILTIN_CHANNELS)]


def require_channel(session: Session, shop_id: str, channel: str) -> None:
    """Errors: not_found for a channel this shop does not have."""
    if channel in BUILTIN_CHANNELS:
        return
    found = session.execute(
        select(Channel.id).where(Channel.shop_id == shop_id, Channel.name == channel)
    ).first()
    if found is None:
        raise KinsaveError("not_found", f"no channel {channel!r}")


def list_channels(session: Session, shop_id: str) -> ChannelListOut:
    rows = session.execute(
        select(ChannelPolicy.channel, func.max(ChannelPolicy.version))
        .where(ChannelPolicy.shop_id == shop_id)
        .group_by(ChannelPolicy.channel)
    )
    versions: dict[str, int] = {channel: version for channel, version in rows}
    return ChannelListOut(
        channels=[
            ChannelOut(
                name=name, builtin=name in BUILTIN_CHANNELS, policy_version=versions.get(name, 0)
            )
            for name in channel_names(session, shop_id)
        ]
    )


def add_channel(session: Session, shop_id: str, name: str) -> ChannelOut:
    """Add an operator channel (permissive default policy). Errors: conflict if it exists."""
    if name in BUILTIN_CHANNELS:
        raise KinsaveError("conflict", f"{name!r} is a built-in channel")
    try:
        with session.begin_nested():
            session.add(Channel(shop_id=shop_id, name=name, created_at=utcnow()))
    except IntegrityError:
        raise KinsaveError("conflict", f"channel {name!r} already exists") from None
    return ChannelOut(name=name, builtin=False, policy_version=0)


def current_policy(session: Session, shop_id: str, channel: str) -> PolicyVersionOut:
    """The version in force. Errors: not_found for an unknown channel."""
    require_channel(session, shop_id, channel)
    row = session.execute(
        select(ChannelPolicy)
        .where(ChannelPolicy.shop_id == shop_id, ChannelPolicy.channel == channel)
        .order_by(ChannelPolicy.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    return _version_out(row) if row else _default_version(channel)


def current_rules(session: Session, shop_id: str, channel: str) -> PolicyRules:
    return current_policy(session, shop_id, channel).rules


def payment_methods_read(channel: str, rules_json: str | None, channel_added: bool) -> list[str]:
    """The payment methods of the policy in force, from what POLICY_RULES_SQL and
    CHANNEL_ADDED_SQL read. Parsed once per process for each distinct policy text: a version is
    never changed once written (an edit adds one). Errors: not_found for an unknown channel."""
    if channel not in BUILTIN_CHANNELS and not channel_added:
        raise KinsaveError("not_found", f"no channel {channel!r}")
    key = (channel, rules_json)
    methods = _methods_of_rules.get(key)
    if methods is None:
        if rules_json is None:
            rules = default_policy(channel)
        else:
            rules = PolicyRules.model_validate_json(rules_json)
        methods = tuple(rules.payment_methods)
        if len(_methods_of_rules) < _MAX_REMEMBERED_RULES:
            _methods_of_rules[key] = methods
    return list(methods)


def policy_history(session: Session, shop_id: str, channel: str) -> PolicyOut:
    require_channel(session, shop_id, channel)
    rows = session.execute(
        select(ChannelPolicy)
        .where(ChannelPolicy.shop_id == shop_id, ChannelPolicy.channel == channel)
        .order_by(ChannelPolicy.version.desc())
    ).scalars()
    history = [*(_version_out(row) for row in rows), _default_version(channel)]
    return PolicyOut(channel=channel, current=history[0], history=history)


def update_policy(session: Session, shop_id: str, channel: str, data: PolicyIn) -> PolicyVersionOut:
    """Store a new version of the channel's policy: the fields given replace the policy, the
    fields left out take the channel's built-in default (never the previous version's value).
    Errors: not_found, conflict (a concurrent edit took this version number; retry)."""
    version = current_policy(session, shop_id, channel).version + 1
    given = data.model_dump(exclude_unset=True, exclude={"note"})
    rules = PolicyRules.model_validate({**default_policy(channel).model_dump(), **given})
    row = ChannelPolicy(
        shop_id=shop_id,
        channel=channel,
        version=version,
        rules=rules.model_dump(mode="json"),
        note=data.note,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise KinsaveError("conflict", "the policy was edited concurrently; retry") from None
    return _version_out(row)


def _version_out(row: ChannelPolicy) -> PolicyVersionOut:
    return PolicyVersionOut(
        version=row.version,
        rules=PolicyRules.model_validate(row.rules),
        note=row.note,
        created_at=row.created_at,
    )


def _default_version(channel: str) -> PolicyVersionOut:
    return PolicyVersionOut(
        version=0,
        rules=default_policy(channel),
        note="built-in default",
        created_at=_DEFAULTS_DATED,
    )
