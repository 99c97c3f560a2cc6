import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.envelopes.split import double_mean_split, equal_split


@st.composite
def total_and_count(draw: st.DrawFn) -> tuple[int, int]:
    count = draw(st.integers(min_value=1, max_value=100))
    total = draw(st.integers(min_value=count, max_value=20000))
    return total, count


class TestDoubleMeanSplit:
    @given(total_and_count(), st.integers(min_value=0, max_value=2**32))
    def test_shares_add_up_and_stay_in_bounds(self, tc: tuple[int, int], seed: int) -> None:
        total, count = tc
        shares = double_mean_split(total, count, random.Random(seed))
        assert len(shares) == count
        assert sum(shares) == total
        assert all(share >= 1 for share in shares)
        remaining = total
        for index, share in enumerate(shares[:-1]):
            left = count - index
            assert share <= 2 * remaining / left  # never more than twice the remaining mean
            remaining -= share

    @given(total_and_count(), st.integers(min_value=0, max_value=2**32))
    def test_same_seed_replays_the_same_split(self, tc: tuple[int, int], seed: int) -> None:
        total, count = tc
        first = double_mean_split(total, count, random.Random(seed))
        assert double_mean_split(total, count, random.Random(seed)) == first

    @settings(deadline=None, max_examples=5)
    @given(st.sampled_from([(1000, 10), (20000, 100), (888, 8), (53, 7)]))
    def test_every_position_has_the_same_mean(self, tc: tuple[int, int]) -> None:
        total, count = tc
        rng = random.Random(7)
        rounds = 20000
        sums = [0] * count
        for _ in range(rounds):
            for position, share in enumerate(double_mean_split(total, count, rng)):
                sums[position] += share
        expected = total / count
        for position_sum in sums:
            # 20,000 rounds: the standard error of a position mean is well under 2 % here.
            assert abs(position_sum / rounds - expected) <= 0.04 * expected + 0.05


class TestEqualSplit:
    @given(total_and_count())
    def test_equal_shares_differ_by_at_most_one(self, tc: tuple[int, int]) -> None:
        total, count = tc
        shares = equal_split(total, count)
        assert sum(shares) == total and len(shares) == count
        assert max(shares) - min(shares) <= 1
