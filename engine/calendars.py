"""Builds units' working calendars: Vietnam's public holidays from the `holidays` package, the
national days the package does not know yet, then the days a province or a unit adds, removes
or swaps, from the most general calendar to the most specific."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import time
from datetime import timedelta
from functools import lru_cache

import holidays

from engine.domain.calendar import DEFAULT_PERIODS
from engine.domain.calendar import DEFAULT_TIMEZONE
from engine.domain.calendar import Periods
from engine.domain.calendar import WorkingCalendar
from engine.domain.calendar import parse_periods
from engine.units import province_of_ward

NATIONAL = "VN"
DEFAULT_YEARS = range(2020, 2036)
OVERRIDE_KINDS = ("off", "working")
WEEKDAY_KEYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


@dataclass(frozen=True)
class CalendarOverride:
    """Days a calendar adds as off ('off') or as working ('working'), e.g. a province's own
    Tết schedule or a make-up Saturday; a swap is one of each."""

    calendar_code: str
    date_from: date
    date_to: date
    kind: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OVERRIDE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(OVERRIDE_KINDS)}, not {self.kind!r}")
        if self.date_from > self.date_to:
            raise ValueError(f"the period ends ({self.date_to}) before it starts ({self.date_from})")

    def days(self) -> Iterable[date]:
        for offset in range((self.date_to - self.date_from).days + 1):
            yield self.date_from + timedelta(days=offset)


# Days the Government announced for the state sector that holidays 0.109 does not have.
# Checked against the package for 2025-2026: Tết 2026 (14-22 Feb, Công văn 9859/VPCP-KGVX) is
# Mon 16-Fri 20 Feb plus two weekends, and the National Day swap (off Mon 31 Aug 2026, make-up
# Sat 22 Aug 2026) and 2025's (off Fri 2 May, make-up Sat 26 Apr) are in the package already.
NATIONAL_OVERRIDES: tuple[CalendarOverride, ...] = (
    # New Year 2026: the Government agreed on 25 Dec 2025 to swap Friday 2 Jan with Saturday
    # 10 Jan for state agencies (Bộ Nội vụ announcement the same day; reported by 24h.com.vn,
    # 26 Dec 2025: https://www.24h.com.vn/tin-tuc-trong-ngay/ai-duoc-hoan-doi-de-nghi-tet-duong-lich-4-ngay-c46a1724830.html).
    CalendarOverride(
        NATIONAL, date(2026, 1, 2), date(2026, 1, 2), "off", "Nghỉ Tết Dương lịch (hoán đổi, làm bù thứ Bảy 10/01/2026)"
    ),
    CalendarOverride(NATIONAL, date(2026, 1, 10), date(2026, 1, 10), "working", "Làm bù cho ngày 02/01/2026"),
)


@dataclass(frozen=True)
class CalendarSettings:
    """One level of a calendar chain (a unit, a province or VN). None inherits from the next level.

    periods: JSON text, either a list of ["08:00", "12:00"] pairs for every working weekday, or
    an object {"default": [...], "sat": [...]} giving some weekdays their own hours (a
    Saturday-morning office); the older "08:00-12:00,13:00-17:00" text is also accepted.
    """

    code: str
    name: str = ""
    parent_code: str | None = None
    timezone: str | None = None
    periods: str | None = None


def parse_period_settings(text: str) -> tuple[Periods, dict[int, Periods]]:
    """The default periods and per-weekday periods written in a calendar's settings."""
    text = text.strip()
    if not text.startswith(("[", "{")):
        return parse_periods(text), {}
    value = json.loads(text)
    if isinstance(value, list):
        return _json_periods(value), {}
    weekday_periods = {}
    for key, periods in value.items():
        if key != "default":
            weekday_periods[_weekday(key)] = _json_periods(periods)
    return _json_periods(value.get("default")) if "default" in value else DEFAULT_PERIODS, weekday_periods


def _json_periods(pairs: list) -> Periods:
    return parse_periods(",".join(f"{start}-{end}" for start, end in pairs)) if pairs else ()


def _weekday(key: str) -> int:
    key = str(key).lower()[:3]
    if key in WEEKDAY_KEYS:
        return WEEKDAY_KEYS[key]
    if key.isdigit() and int(key) < 7:
        return int(key)
    raise ValueError(f"{key!r} is not a weekday (use mon..sun or 0..6)")


def format_period_settings(periods: Periods) -> str:
    """Periods as the JSON text a calendar record stores."""
    return json.dumps([[_hhmm(start), _hhmm(end)] for start, end in periods])


def _hhmm(minute: int) -> str:
    return time(minute // 60, minute % 60).strftime("%H:%M")


@dataclass
class _Days:
    off: set[date] = field(default_factory=set)
    working: set[date] = field(default_factory=set)
    reasons: dict[date, str] = field(default_factory=dict)

    def apply(self, override: CalendarOverride) -> None:
        for day in override.days():
            if override.kind == "off":
                self.off.add(day)
                self.working.discard(day)
            else:
                self.working.add(day)
                self.off.discard(day)
            self.reasons[day] = override.note or ("Ngày nghỉ" if override.kind == "off" else "Ngày làm việc")


@lru_cache(maxsize=8)
def _package_days(years: tuple[int, ...]) -> tuple[dict[date, str], frozenset[date]]:
    vn = holidays.VN(years=years, language="vi")
    return dict(vn.items()), frozenset(d for d in getattr(vn, "weekend_workdays", ()) if d.year in years)


def national_days(years: range = DEFAULT_YEARS) -> _Days:
    """Public holidays (observed and substituted days included) with their Vietnamese names,
    make-up working Saturdays, then NATIONAL_OVERRIDES."""
    names, make_up = _package_days(tuple(years))
    days = _Days(off=set(names), reasons=dict(names))
    for day in make_up:
        days.working.add(day)
        days.reasons[day] = "Ngày làm bù"
    for override in NATIONAL_OVERRIDES:
        if override.date_from.year in years or override.date_to.year in years:
            days.apply(override)
    return days


def build_calendar(
    chain: list[CalendarSettings], overrides: Iterable[CalendarOverride], years: range | None = None
) -> WorkingCalendar:
    """The calendar of the first (most specific) settings in `chain` (e.g. ward, province, VN):
    national holidays, then each level's overrides from the most general to the most specific,
    so a unit's own day wins over its province's. Time zone and hours come from the most
    specific level that sets them."""
    years = years or DEFAULT_YEARS
    days = national_days(years)
    by_code: dict[str, list[CalendarOverride]] = {}
    for override in overrides:
        by_code.setdefault(override.calendar_code, []).append(override)
    for settings in reversed(chain):
        for override in sorted(by_code.get(settings.code, ()), key=lambda o: o.date_from):
            days.apply(override)
    timezone = next((s.timezone for s in chain if s.timezone), DEFAULT_TIMEZONE)
    periods_text = next((s.periods for s in chain if s.periods), None)
    periods, weekday_periods = parse_period_settings(periods_text) if periods_text else (DEFAULT_PERIODS, {})
    return WorkingCalendar(
        timezone=timezone,
        periods=periods,
        weekday_periods=weekday_periods,
        days_off=days.off,
        extra_working_days=days.working,
        reasons=days.reasons,
        first_year=years.start,
        last_year=years.stop - 1,
    )


def overrides_fingerprint(overrides: Iterable[CalendarOverride]) -> str:
    """A short digest of the overrides' content: editing any of them changes the cache key."""
    rows = sorted((o.calendar_code, o.date_from.isoformat(), o.date_to.isoformat(), o.kind, o.note) for o in overrides)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:16]


_CACHE_SIZE = 512
_cache: dict[tuple, WorkingCalendar] = {}
_lock = threading.Lock()


def cached_calendar(
    chain: list[CalendarSettings], overrides: list[CalendarOverride], years: range | None = None
) -> WorkingCalendar:
    """build_calendar, remembered by (calendar chain, overrides fingerprint, years): building
    takes milliseconds, so it must not happen per request; an edited override is a new key."""
    key = (tuple(chain), overrides_fingerprint(overrides), years)
    with _lock:
        found = _cache.get(key)
    if found is None:
        found = build_calendar(chain, overrides, years)
        with _lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()  # settings changed many times in one process: start again
            _cache[key] = found
    return found


def clear_calendar_cache() -> None:
    with _lock:
        _cache.clear()


def calendar_chain(unit_code: str, parent_of: Callable[[str], str | None] | None = None) -> list[str]:
    """The calendars a unit falls back to, most specific first: the unit, its parents, then "VN".
    `parent_of` names a unit's parent (the runtime reads the unit table); without it a ward or
    commune code of vietnam-provinces falls back to its province (e.g. "00070" -> "01")."""
    parent_of = parent_of or _province_of_code
    chain: list[str] = []
    code: str | None = unit_code.strip()
    while code and code != NATIONAL and code not in chain:
        chain.append(code)
        code = parent_of(code)
    return chain + [NATIONAL]


def _province_of_code(code: str) -> str | None:
    return province_of_ward(int(code)) if code.isdigit() and len(code) == 5 else None
