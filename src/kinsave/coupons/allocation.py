"""Splitting an amount into integer parts that always add up to the whole (largest remainder).

Pure: used to spread a coupon's discount across order lines and a line's discount across its
units, so that refunding any set of lines or units returns exactly what they were discounted.
"""


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to `weights`; parts add up to `total`.

    When total <= sum(weights) no part exceeds its weight. Remainders go to the largest
    fractional parts, ties to the earlier index, so the split is deterministic.
    """
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    if total == whole:
        return list(weights)
    parts = [total * w // whole for w in weights]
    short = total - sum(parts)
    if short:  # none when every part divides exactly: no remainders to rank
        remainders = [total * w % whole for w in weights]
        # Largest remainder first; the sort is stable, so equal remainders keep the earlier
        # index first.
        order = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
        for i in order[:short]:
            parts[i] += 1
    return parts


def units_share(total: int, quantity: int, start: int, count: int) -> int:
    """What units [start, start + count) of a line carry of `total` spread over `quantity` units.

    Unit i carries total // quantity, plus one for the first total % quantity units; refunding
    the units in order therefore returns the line's total exactly once it is fully refunded.
    """
    base, extra = divmod(total, quantity)
    end = start + count
    return base * count + max(0, min(end, extra) - min(start, extra))
