"""A price cut's schedule: how much each helper cuts, fixed before anyone helps. Pure.

The cuts add up exactly to (regular price - final price), split as evenly as whole fen allow;
the first helpers cut the extra fen (largest remainder), so the same terms always give the same
schedule. No randomness, no "one more cut": the N-th cut lands on the final price.
"""

from kinsave.coupons.allocation import allocate


def cut_schedule(regular_price: int, final_price: int, helpers: int) -> list[int]:
    """Helper i's cut, for i = 1..helpers. Raises ValueError for terms that cut nothing."""
    if helpers < 1 or not 0 <= final_price < regular_price:
        raise ValueError("a price cut needs helpers and a final price below the regular price")
    return allocate(regular_price - final_price, [1] * helpers)


def price_after(regular_price: int, schedule: list[int], helped: int) -> int:
    """The price once the first `helped` helpers have cut."""
    return regular_price - sum(schedule[:helped])
