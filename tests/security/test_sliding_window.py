"""Pure: the sliding-window counter's bound and its Retry-After, over generated bursts."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from kinsave.security import sliding_window


def _simulate(times: list[float], count: int, seconds: int) -> tuple[int, Counter[int]]:
    """How many hits pass (refused ones are counted too, as the limiter does)."""
    windows: Counter[int] = Counter()
    passed = 0
    for at in times:
        position = sliding_window.position(at, seconds)
        windows[position.window] += 1
        previous, current = windows[position.window - 1], windows[position.window]
        if sliding_window.estimate(previous, current, position.elapsed, seconds) <= count:
            passed += 1
    return passed, windows


BURSTS = st.tuples(
    st.integers(1, 30),  # the limit
    st.sampled_from([60, 600, 3600]),  # the window
    st.floats(0, 10_000, allow_nan=False),  # where the burst starts
    st.lists(st.floats(0, 5_000, allow_nan=False), min_size=1, max_size=120),  # offsets
)


class TestBound:
    @settings(max_examples=500, deadline=None)
    @given(burst=BURSTS)
    def test_a_burst_lasting_d_seconds_lets_at_most_l_plus_l_d_over_w_through(self, burst):
        count, seconds, start, offsets = burst
        times = sorted(start + offset for offset in offsets)
        passed, _ = _simulate(times, count, seconds)
        span = times[-1] - times[0]
        assert passed <= count + int(count * span // seconds)

    def test_forty_back_to_back_guesses_across_an_edge(self):
        edge = 1_800_000_000.0
        passed, _ = _simulate([edge - 20 + i for i in range(40)], 20, 600)
        assert passed == 20


class TestRetryAfter:
    @settings(max_examples=500, deadline=None)
    @given(
        count=st.integers(1, 30),
        seconds=st.sampled_from([60, 600]),
        previous=st.integers(0, 80),
        current=st.integers(0, 80),
        elapsed=st.floats(0, 59.99, allow_nan=False),
    )
    def test_the_next_hit_passes_after_retry_after_and_not_a_second_before(
        self, count, seconds, previous, current, elapsed
    ):
        wait = sliding_window.seconds_until_allowed(previous, current, elapsed, count, seconds)
        assert 1 <= wait <= 2 * seconds

        def next_hit_passes(after: float) -> bool:
            at = elapsed + after
            if at < seconds:
                estimate = sliding_window.estimate(previous, current + 1, at, seconds)
            else:  # the next window: this one's count becomes the previous
                estimate = sliding_window.estimate(current, 1, at - seconds, seconds)
            return estimate <= count

        assert next_hit_passes(wait)
        if wait > 1:
            assert not next_hit_passes(wait - 1)
