"""The rules of a group deal that need no database: terms, windows, what a group shows. Pure."""

from datetime import datetime, timedelta

MIN_SIZE, MAX_SIZE = 2, 50


def terms_problem(
    *,
    group_price: int,
    regular_price: int,
    group_size: int,
    units: int,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> str | None:
    """Why these terms make no deal a shop would want, or None when they are fine."""
    if not MIN_SIZE <= group_size <= MAX_SIZE:
        return f"a group has {MIN_SIZE} to {MAX_SIZE} members"
    if group_price >= regular_price:
        return "the group price must be below the product's price"
    if units < group_size:
        return "units in stock must cover at least one group"
    for moment in (starts_at, ends_at):
        if moment is not None and moment.tzinfo is None:
            return "times need a timezone"
    if starts_at and ends_at and starts_at >= ends_at:
        return "starts_at must be before ends_at"
    return None


def group_expiry(now: datetime, window_seconds: int, deal_ends_at: datetime | None) -> datetime:
    """When a group started now must have filled: its window, cut short by the deal's end."""
    expiry = now + timedelta(seconds=window_seconds)
    return min(expiry, deal_ends_at) if deal_ends_at else expiry


def deal_open_for_groups(
    status: str, starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> bool:
    """Whether a new group may start now (existing groups may still fill while paused)."""
    started = starts_at is None or starts_at <= now
    running = ends_at is None or now < ends_at
    return status == "active" and started and running


def shown_status(status: str, expires_at: datetime, now: datetime) -> str:
    """forming, succeeded or failed; a forming group past its window is failed (the sweeper
    gives its units back soon; nobody can join it any more)."""
    if status == "forming" and expires_at <= now:
        return "failed"
    return status


def seconds_left(expires_at: datetime, now: datetime) -> int:
    return max(0, int((expires_at - now).total_seconds()))


def free_slot(used: set[int], limit: int) -> int | None:
    """The smallest membership slot 1..limit not in use, or None at the limit."""
    return next((slot for slot in range(1, limit + 1) if slot not in used), None)


def conversion_percent(succeeded: int, closed: int) -> int:
    """Succeeded groups per closed group, in whole percent (0 when none closed yet)."""
    return succeeded * 100 // closed if closed else 0
