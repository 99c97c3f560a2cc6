"""Pure: how an envelope's total is cut into shares. No database, no web."""

import random


def double_mean_split(total: int, count: int, rng: random.Random) -> list[int]:
    """Cut `total` into `count` shares of at least 1 by the "double mean" rule.

    Each share but the last is drawn from [1, 2 x (the mean of what remains) - 1]; the last takes
    the rest. The draw is an exact uniform over the reals rounded by a random coin (not floor), so
    every share's expected value is exactly total / count, whichever position it is in.
    """
    _check(total, count)
    shares: list[int] = []
    remaining = total
    for left in range(count, 1, -1):
        # y is uniform on [0, 2(remaining - left)]; share = 1 + y / left, rounded at random
        # in proportion to the fraction so that E[share] = remaining / left exactly.
        y = rng.randint(0, 2 * (remaining - left))
        share = 1 + y // left + (1 if rng.randrange(left) < y % left else 0)
        share = min(share, remaining - (left - 1))  # every later share still gets at least 1
        shares.append(share)
        remaining -= share
    shares.append(remaining)
    return shares


def equal_split(total: int, count: int) -> list[int]:
    """Cut `total` into `count` shares that differ by at most 1 (largest remainder first)."""
    _check(total, count)
    base, extra = divmod(total, count)
    return [base + 1 if index < extra else base for index in range(count)]


def split(kind: str, total: int, count: int, rng: random.Random) -> list[int]:
    if kind == "lucky":
        return double_mean_split(total, count, rng)
    if kind == "equal":
        return equal_split(total, count)
    raise ValueError(f"unknown envelope kind {kind!r}")


def _check(total: int, count: int) -> None:
    if count < 1 or total < count:
        raise ValueError("need at least one share and at least 1 minor unit per share")
