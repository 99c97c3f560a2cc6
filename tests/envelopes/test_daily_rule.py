import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kinsave.envelopes.daily_rule import Tier, TieredRule, UniformRule, draw_amount


class TestDraw:
    @given(st.integers(1, 500), st.integers(0, 500), st.integers(0, 2**32))
    def test_uniform_draws_stay_in_range(self, low: int, span: int, seed: int) -> None:
        rule = UniformRule(min=low, max=low + span)
        assert low <= draw_amount(rule, random.Random(seed)) <= low + span

    def test_tiers_are_picked_by_weight(self) -> None:
        rule = TieredRule(tiers=[Tier(weight=99, min=10, max=50), Tier(weight=1, min=888, max=888)])
        rng = random.Random(1)
        draws = [draw_amount(rule, rng) for _ in range(20000)]
        jackpots = sum(1 for amount in draws if amount == 888)
        assert all(10 <= a <= 50 or a == 888 for a in draws)
        assert 100 <= jackpots <= 320  # 1 % of 20,000 is 200

    def test_min_above_max_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            UniformRule(min=50, max=10)
