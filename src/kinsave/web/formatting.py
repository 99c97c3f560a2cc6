"""Money and times for people, formatted by the page's language with Babel (CLDR data).

Money stays integer minor units (fen) everywhere else; only here does it become yuan, through
`Decimal` (never a float). Times are stored in UTC and shown in the shop's time zone.
"""

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import pass_context

CURRENCY = "CNY"
DEFAULT_TIMEZONE = "Asia/Shanghai"
BABEL_LOCALES = {"zh-CN": "zh_CN", "en": "en"}


def babel_locale(language: str) -> str:
    return BABEL_LOCALES.get(language, "en")


def fen_to_yuan(amount: int) -> Decimal:
    """1250 -> Decimal('12.50'), exactly."""
    return Decimal(amount).scaleb(-2)


@cache
def _yuan_pattern(locale: str) -> str:
    """The locale's currency pattern with the narrow symbol ¥ (CLDR's narrow symbol for CNY;
    English's standard symbol is "CN¥"), as the browser's `currencyDisplay: "narrowSymbol"`."""
    return str(Locale.parse(locale).currency_formats["standard"].pattern).replace("¤", "¥")


def format_money(amount: int, language: str) -> str:
    """Fen as yuan in the language's format: 5000000 -> '¥50,000.00', -88 -> '-¥0.88'."""
    locale = babel_locale(language)
    return format_currency(fen_to_yuan(amount), CURRENCY, _yuan_pattern(locale), locale)


def format_time(
    moment: datetime, language: str, timezone: str = DEFAULT_TIMEZONE, pattern: str = "medium"
) -> str:
    """A stored UTC time in the shop's time zone, in the language's format."""
    return format_datetime(
        moment, pattern, tzinfo=ZoneInfo(timezone), locale=babel_locale(language)
    )


@pass_context
def money_filter(context: Any, amount: int) -> str:
    return format_money(amount, context.get("lang", "en"))


@pass_context
def time_filter(
    context: Any, moment: datetime, pattern: str = "yyyy-MM-dd HH:mm", timezone: str = ""
) -> str:
    """`moment|local_time("HH:mm")`: in the given zone, else the page's, else Asia/Shanghai."""
    timezone = timezone or context.get("timezone") or DEFAULT_TIMEZONE
    return format_time(moment, context.get("lang", "en"), timezone, pattern)
