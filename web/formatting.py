"""Numbers, money, rates, file sizes and day dates as the reader's language writes them (Babel's
locales: "8,5" and "1.234.567" in Vietnamese), and lists sorted by Vietnamese collation (ICU: Đ
after D, Ô and Ơ after O), for the templates."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from functools import lru_cache
from operator import attrgetter
from operator import itemgetter
from typing import Any

import icu
from flask import Flask
from flask_babel import format_date
from flask_babel import format_decimal
from flask_babel import format_percent


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


def number(value, digits: int | None = None) -> str:
    """8.0 -> "8", 8.25 -> "8,25" (Vietnamese); `digits` fixes the decimals shown."""
    if value is None:
        return "—"
    if digits is None:
        return format_decimal(value)
    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")


def money(amount) -> str:
    """1234567 -> "1.234.567" (đồng have no decimals)."""
    return "—" if amount is None else format_decimal(amount, format="#,##0")


def rate(value) -> str:
    """0.6667 -> "66,7%"; no rate -> "—"."""
    return "—" if value is None else format_percent(value, format="#,##0.0%")


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
