"""Pure: the sliding-window counter behind the rate limits (Cloudflare's weighted two windows).

Time is cut into fixed windows of the limit's length W. A subject's hits are counted per window;
at `elapsed` seconds into the current window the estimate of the last W seconds is

    current + ceil(previous × (W − elapsed) / W)

that is, the previous window's count weighted by how much of it the sliding window still covers,
rounded up so the estimate never under-counts. A hit passes while the estimate, this hit
included, is at most the limit. Refused hits are counted too: a caller who keeps knocking stays
refused.

Bound: a burst of attempts lasting d seconds, however it straddles a window edge, lets at most
L + floor(L × d / W) of them through (the fixed window let 2L through back to back). For
d < W / L that is exactly L: 20 per 600 s and 40 guesses within 29 s let 20 through. Over a full
W the counter assumes the previous window's hits were spread evenly, so a caller who spends the
limit at the very end of one window and waits can get through up to about 2L in one W; an exact
log of timestamps would cost one entry per hit on both backends.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    window: int  # epoch seconds // W
    elapsed: float  # seconds since the window began, 0 <= elapsed < W


def position(now: float, seconds: int) -> Position:
    window = int(now // seconds)
    return Position(window, now - window * seconds)


def estimate(previous: int, current: int, elapsed: float, seconds: int) -> int:
    """Hits in the last `seconds`, estimated from two adjacent windows' counts (rounded up)."""
    covered = max(0.0, min(1.0, (seconds - elapsed) / seconds))
    return current + math.ceil(previous * covered - 1e-9)


def seconds_until_allowed(
    previous: int, current: int, elapsed: float, count: int, seconds: int
) -> int:
    """Whole seconds (at least 1) until one more hit would pass, given these windows' counts."""
    room = count - 1 - current  # what the previous window's weighted share may still use
    if room >= 0:
        wait = 0.0 if previous <= room else seconds - room * seconds / previous - elapsed
    else:  # this window alone is over: wait until, in the next one, it weighs little enough
        wait = (seconds - elapsed) + seconds - (count - 1) * seconds / current
    return max(1, math.ceil(wait - 1e-9))
