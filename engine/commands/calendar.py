"""`motcua calendar`: a unit's working days, appointments explained step by step, and the
administrator's edits of days off and make-up days."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import click

from engine.calendars import calendar_chain
from engine.domain import deadlines
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.calendar import WorkingCalendar
from engine.store import calendar_records
from engine.store.database import Database

DATE = click.DateTime(["%Y-%m-%d"])


def _calendar(unit: str) -> WorkingCalendar:
    with Database.from_env().session() as s:
        return calendar_records.load_calendar(s, calendar_chain(unit))


def _instant(text: str, calendar: WorkingCalendar) -> datetime:
    """An ISO date-time; without an offset it is the unit's local time, not the server's."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date-time like 2026-02-13T15:30", param_hint="--received"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=calendar.tz)


def _dates(start: date, end: date):
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def _day_kind(calendar: WorkingCalendar, day: date) -> str:
    """'working', 'off' or 'make-up' (a working day that would otherwise be off)."""
    if not calendar.is_working_day(day):
        return "off"
    return "make-up" if day in calendar.extra_working_days else "working"


def _describe_day(calendar: WorkingCalendar, day: date) -> dict:
    kind = _day_kind(calendar, day)
    return {
        "date": day.isoformat(),
        "weekday": day.strftime("%a"),
        "kind": kind,
        "working": kind != "off",
        "reason": calendar.reason(day) if kind != "working" else None,
    }


@click.group("calendar")
def calendar_group() -> None:
    """Working calendars: holidays, make-up days, appointments."""


@calendar_group.command("show")
@click.option("--unit", default="VN", show_default=True, help="Unit (ward) code, province code or 'VN'.")
@click.option("--from", "date_from", required=True, type=DATE)
@click.option("--to", "date_to", required=True, type=DATE)
@click.option("--json", "as_json", is_flag=True)
def show(unit: str, date_from: datetime, date_to: datetime, as_json: bool) -> None:
    """Each day of the period: working, off (and why) or a make-up working day."""
    if date_from > date_to:
        raise click.UsageError("--to is before --from")
    calendar = _calendar(unit)
    days = [_describe_day(calendar, day) for day in _dates(date_from.date(), date_to.date())]
    summary = {kind: sum(d["kind"] == kind for d in days) for kind in ("working", "off", "make-up")}
    if as_json:
        click.echo(
            json.dumps(
                {"unit": unit, "chain": calendar_chain(unit), "days": days, "summary": summary}, ensure_ascii=False
            )
        )
        return
    labels = {"working": "làm việc", "off": "nghỉ", "make-up": "làm bù"}
    for d in days:
        click.echo(f"{d['date']} {d['weekday']}  {labels[d['kind']]:<8}  {d['reason'] or ''}".rstrip())
    click.echo(
        f"{summary['working'] + summary['make-up']} working days ({summary['make-up']} make-up), "
        f"{summary['off']} days off, of {len(days)}"
    )


def _clock_start_reason(
    calendar: WorkingCalendar, received_at: datetime, start: datetime, rule: deadlines.ClockStartRule
) -> str:
    local = calendar.local(received_at)
    if start == local:
        return "received during working hours: the clock starts at once"
    if not calendar.is_working_day(local.date()):
        return f"received on a day off ({calendar.reason(local.date()) or 'nghỉ'}): next working instant"
    if start.date() == local.date():
        return "received before opening or during the lunch break: next working instant"
    if rule.cutoff is not None and local.time() >= rule.cutoff and calendar.is_working_instant(local):
        return f"received at or after the {rule.cutoff:%H:%M} cut-off: counts from the next working day"
    if rule.last_hour_rule and calendar.is_working_instant(local):
        return "received in the last working hour of the day: counts from the next working day"
    return "received after working hours: next working instant"


@calendar_group.command("appointment")
@click.option("--unit", default="VN", show_default=True, help="Unit (ward) code, province code or 'VN'.")
@click.option("--received", required=True, help="Receipt instant, e.g. 2026-02-13T15:30 (unit's local time).")
@click.option("--days", type=float, default=None, help="Legal limit in working days (of 8 hours).")
@click.option("--hours", type=float, default=None, help="Legal limit in working hours.")
@click.option(
    "--same-day",
    "same_day",
    is_flag=True,
    help="Legal limit 'same day' (giải quyết trong ngày): the end of the clock start's working day.",
)
@click.option("--cutoff", default=None, help="Receipts at or after this time (HH:MM) count from the next working day.")
@click.option("--last-hour", is_flag=True, help="Receipts in the last working hour count from the next working day.")
@click.option("--json", "as_json", is_flag=True)
def appointment(unit, received, days, hours, same_day, cutoff, last_hour, as_json) -> None:
    """Compute an appointment and explain it: clock start, days skipped and why."""
    if [days is not None, hours is not None, same_day].count(True) != 1:
        raise click.UsageError("give exactly one of --days, --hours or --same-day")
    minutes = deadlines.SAME_DAY if same_day else round((days or 0) * MINUTES_PER_DAY + (hours or 0) * 60)
    if minutes <= 0 and not same_day:
        raise click.UsageError("the legal limit must be more than zero (or --same-day)")
    try:
        rule = deadlines.ClockStartRule(cutoff=time.fromisoformat(cutoff) if cutoff else None, last_hour_rule=last_hour)
    except ValueError:
        raise click.BadParameter(f"{cutoff!r} is not a time like 15:00", param_hint="--cutoff") from None
    calendar = _calendar(unit)
    received_at = calendar.local(_instant(received, calendar))
    start = deadlines.clock_start(calendar, received_at, rule)
    due = deadlines.appointment(calendar, received_at, minutes, rule)
    span = list(_dates(received_at.date(), due.date()))
    result = {
        "unit": unit,
        "chain": calendar_chain(unit),
        "received_at": received_at.isoformat(),
        "clock_start": start.isoformat(),
        "clock_start_reason": _clock_start_reason(calendar, received_at, start, rule),
        "legal_limit": deadlines.format_legal_limit(minutes),
        "legal_minutes": minutes,
        "appointment": due.isoformat(),
        "days_skipped": [
            {"date": d.isoformat(), "weekday": d.strftime("%a"), "reason": calendar.reason(d) or "nghỉ"}
            for d in span
            if not calendar.is_working_day(d)
        ],
        "make_up_days": [
            {"date": d.isoformat(), "reason": calendar.reason(d)} for d in span if _day_kind(calendar, d) == "make-up"
        ],
    }
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else _explain(result))


def _limit_text(result: dict) -> str:
    if deadlines.is_same_day(result["legal_minutes"]):
        return "same day: the end of the working day the clock starts on"
    return f"{result['legal_limit']} of working time (1 day = 8 working hours)"


def _explain(result: dict) -> str:
    lines = [
        f"received     {result['received_at']}",
        f"clock start  {result['clock_start']}  ({result['clock_start_reason']})",
        f"legal limit  {_limit_text(result)}",
    ]
    lines += [f"  skipped    {d['date']} {d['weekday']}  {d['reason']}" for d in result["days_skipped"]]
    lines += [f"  make-up    {d['date']}  {d['reason']}" for d in result["make_up_days"]]
    lines.append(f"appointment  {result['appointment']}")
    return "\n".join(lines)


@calendar_group.command("add-day")
@click.option("--unit", required=True, help="Calendar code: 'VN', a province or a unit.")
@click.option("--from", "date_from", required=True, type=DATE)
@click.option("--to", "date_to", default=None, type=DATE, help="Last day (default: --from).")
@click.option("--kind", type=click.Choice(["off", "working"]), required=True)
@click.option("--note", required=True, help="The announcement or decision behind the change.")
@click.option("--by", "created_by", default=None)
def add_day(unit, date_from, date_to, kind, note, created_by) -> None:
    """Add days off or make-up working days to a calendar (a swap is one of each)."""
    with Database.from_env().session() as s:
        try:
            record = calendar_records.add_override(
                s,
                calendar_code=unit,
                date_from=date_from.date(),
                date_to=(date_to or date_from).date(),
                kind=kind,
                note=note,
                created_by=created_by,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        click.echo(f"added #{record.id}: {unit} {record.date_from}..{record.date_to} {kind} ({record.note})")


@calendar_group.command("list-days")
@click.option("--unit", required=True, help="Calendar code: 'VN', a province or a unit.")
def list_days(unit) -> None:
    """The days a calendar itself adds, with the numbers remove-day takes."""
    with Database.from_env().session() as s:
        for r in calendar_records.list_overrides(s, unit):
            click.echo(f"#{r.id}  {r.date_from}..{r.date_to}  {r.kind:<7}  {r.note}")


@calendar_group.command("remove-day")
@click.argument("override_id", type=int)
def remove_day(override_id: int) -> None:
    """Remove a calendar change by its number (see list-days)."""
    with Database.from_env().session() as s:
        try:
            record = calendar_records.delete_override(s, override_id)
        except LookupError as exc:
            raise click.UsageError(str(exc)) from None
        click.echo(f"removed #{override_id}: {record.calendar_code} {record.date_from}..{record.date_to} {record.kind}")
