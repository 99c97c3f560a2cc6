"""Money and times for people: Babel's formats for the page's language, from integer fen."""

from datetime import UTC, datetime

from kinsave_demo_store.pages import yuan

from kinsave.web.formatting import fen_to_yuan, format_money, format_time


class TestMoney:
    def test_grouped_in_both_languages(self):
        assert format_money(5_000_000, "zh-CN") == "¥50,000.00"
        assert format_money(5_000_000, "en") == "¥50,000.00"

    def test_small_and_negative(self):
        assert format_money(88, "en") == "¥0.88"
        assert format_money(-88, "zh-CN") == "-¥0.88"
        assert format_money(0, "zh-CN") == "¥0.00"

    def test_exact_from_fen(self):
        # A float would print 0.30000000000000004 somewhere; Decimal from fen never does.
        assert str(fen_to_yuan(30)) == "0.30"
        assert format_money(123_456_789_012_345_678, "en") == "¥1,234,567,890,123,456.78"

    def test_demo_store_formats_the_same(self):
        assert yuan(5_000_000, "zh-CN") == format_money(5_000_000, "zh-CN")
        assert yuan(1250) == "¥12.50"


class TestTimes:
    def test_shanghai_by_default(self):
        moment = datetime(2026, 12, 6, 12, 7, tzinfo=UTC)
        assert format_time(moment, "zh-CN", pattern="yyyy-MM-dd HH:mm") == "2026-12-06 20:07"

    def test_naive_is_utc(self):
        # SQLite hands back naive datetimes, which kinsave stores as UTC.
        moment = datetime(2026, 12, 6, 12, 7, tzinfo=UTC).replace(tzinfo=None)
        assert format_time(moment, "en", "Asia/Shanghai", "HH:mm") == "20:07"
