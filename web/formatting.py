"""Numbers, money, rates, file sizes and day dates as the reader's language writes them (Babel's
locales: "8,5" and "1.234.567" in Vietnamese), and lists sorted by Vietnamese collation (ICU: Đ
after D, Ô and Ơ after O), for the templates."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from operator import itemgetter
from typing import Any

import icu
from babel import Locale
from babel import numbers
from flask import Flask
from flask_babel import format_date
from flask_babel import format_decimal
from flask_babel import get_locale


@lru_cache(maxsize=1)
def _collator() -> icu.Collator:
    # Names are Vietnamese whatever the interface language, so they sort the Vietnamese way.
    return icu.Collator.createInstance(icu.Locale("vi"))


def sort_key(text: Any) -> bytes:
    return _collator().getSortKey("" if text is None else str(text))


def collated(items: Iterable, key: Callable[[Any], Any] = lambda item: item) -> list:
    """The items in Vietnamese alphabetical order of key(item)."""
    return sorted(items, key=lambda item: sort_key(key(item)))


def _collated_filter(items: Iterable, attribute: str | int | None = None) -> list:
    """`|vn_sort`, `|vn_sort(attribute='full_name')` or `|vn_sort(1)` for (code, name) pairs."""
    if attribute is None:
        return collated(items)
    getter = itemgetter(attribute) if isinstance(attribute, int) else attrgetter(attribute)
    return collated(items, getter)


def number(value, digits: int | None = None, locale: str | None = None) -> str:
    """8.0 -> "8", 8.25 -> "8,25" (Vietnamese); `digits` fixes the decimals shown. `locale`: the
    page's (page_locale), for code that writes a table's numbers, else looked up."""
    if value is None:
        return "—"
    if digits is None and type(value) is int:
        return _whole(value, locale or str(get_locale()))
    if digits is None and type(value) is float and round(value, 3) == value and value >= 0:
        locale = locale or str(get_locale())
        if _plain_decimal_pattern(locale):
            return _short_decimal(value, locale)
    if digits is None:
        return format_decimal(value)
    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")


def _whole(value: int, locale: str) -> str:
    """A whole number grouped by thousands with the locale's separator: what Babel writes, without
    its general pattern machinery (a province's report tables hold about 2,000 numbers, and Babel
    took 0.3 ms for each)."""
    grouped = f"{abs(value):,}".replace(",", _group_symbol(locale))
    return f"{_minus_sign(locale)}{grouped}" if value < 0 else grouped


def _short_decimal(value: float, locale: str) -> str:
    """A number of at most three decimals as the locale's "#,##0.###" writes it (no rounding is
    left to do): what Babel writes, without its pattern machinery (the officers' KPI page holds a
    mean score per officer)."""
    whole, _, fraction = f"{value:,.3f}".partition(".")
    fraction = fraction.rstrip("0")
    whole = whole.replace(",", _group_symbol(locale))
    return f"{whole}{_decimal_symbol(locale)}{fraction}" if fraction else whole


@lru_cache(maxsize=16)
def _plain_decimal_pattern(locale: str) -> bool:
    return Locale.parse(locale).decimal_formats[None].pattern == "#,##0.###"


@lru_cache(maxsize=16)
def _group_symbol(locale: str) -> str:
    return numbers.get_group_symbol(locale)


@lru_cache(maxsize=16)
def _minus_sign(locale: str) -> str:
    return numbers.get_minus_sign_symbol(locale)


def page_locale() -> str:
    """The request's locale, looked up once for a table's numbers (each lookup walks Flask-Babel's
    context locals)."""
    return str(get_locale())


def local_time_writer() -> Callable[[Any], str]:
    """What writes an instant in Vietnam's time the way the request's language writes it (the
    `vn_datetime` filter), the language looked up once: for a list of them."""
    from web.display import LOCAL_TZ
    from web.i18n import current_language

    pattern = "%H:%M, %d/%m/%Y" if current_language() == "en" else "%H:%M ngày %d/%m/%Y"
    return lambda value: "" if value is None else value.astimezone(LOCAL_TZ).strftime(pattern)


def money(amount) -> str:
    """1234567 -> "1.234.567" (đồng have no decimals)."""
    return "—" if amount is None else format_decimal(amount, format="#,##0")


def rate(value, locale: str | None = None) -> str:
    """0.6667 -> "66,7%"; no rate -> "—". What Babel's "#,##0.0%" writes (its rounding: half to
    even on the decimal text of the value), without its pattern machinery: the officers' table
    holds a rate per officer. `locale` as for `number`."""
    if value is None:
        return "—"
    locale = locale or str(get_locale())
    tenths = Decimal(str(value)).scaleb(2).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    whole, fraction = f"{abs(tenths):,.1f}".split(".")
    text = f"{whole.replace(',', _group_symbol(locale))}{_decimal_symbol(locale)}{fraction}"
    return f"{_minus_sign(locale) if tenths < 0 else ''}{text}{_percent_sign(locale)}"


@lru_cache(maxsize=16)
def _decimal_symbol(locale: str) -> str:
    return numbers.get_decimal_symbol(locale)


@lru_cache(maxsize=16)
def _percent_sign(locale: str) -> str:
    # Babel has no getter of its own for it: the sign a whole percentage is written with.
    return numbers.format_percent(1, format="0%", locale=locale).replace("100", "")


def file_size(size_bytes: int) -> str:
    """8192 -> "8,0 KB"; a megabyte and more in MB."""
    if size_bytes >= 1024 * 1024:
        return f"{number(size_bytes / 1024 / 1024, 1)} MB"
    return f"{number(size_bytes / 1024, 1)} KB"


def day(value) -> str:
    """A day as offices write it in both languages: 04/03/2026."""
    return "" if value is None else format_date(value, "dd/MM/yyyy")


def init_app(app: Flask) -> None:
    for name, function in {
        "vn_number": number,
        "vn_money": money,
        "vn_rate": rate,
        "vn_size": file_size,
        "vn_day": day,
        "vn_sort": _collated_filter,
    }.items():
        app.add_template_filter(function, name)
