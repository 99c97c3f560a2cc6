"""Cutting a console table into pages (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from kinsave.web.paging import page_of


class TestPageOf:
    def test_first_middle_and_last_page(self):
        items = list(range(45))
        first = page_of(items, 0)
        assert (first.items, first.next_offset) == (list(range(20)), 20)
        middle = page_of(items, 20)
        assert (middle.items, middle.next_offset) == (list(range(20, 40)), 40)
        last = page_of(items, 40)
        assert (last.items, last.next_offset) == ([40, 41, 42, 43, 44], None)

    def test_exactly_one_full_page_has_no_next(self):
        assert page_of(list(range(20)), 0).next_offset is None

    def test_a_negative_offset_reads_as_the_first_page(self):
        page = page_of(list(range(5)), -7)
        assert (page.offset, page.items) == (0, [0, 1, 2, 3, 4])

    @given(st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=30))
    def test_following_next_visits_every_item_once(self, size, limit):
        items, seen, offset = list(range(size)), [], 0
        while True:
            page = page_of(items, offset, limit)
            assert len(page.items) <= limit
            seen += page.items
            if page.next_offset is None:
                break
            offset = page.next_offset
        assert seen == items
