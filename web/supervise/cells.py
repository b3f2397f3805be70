"""The supervisor's table cells and rows, written in Python: a province's tables hold thousands of
cells (the dashboard's about 4,000, the officers' KPIs 13 for each of about 400 officers), and a
Jinja macro call, a url_for and a Babel pattern for each were most of the pages' time. The cells
are the ones the templates wrote (supervise/_tables.html, supervise/kpi.html)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from flask import current_app
from flask import url_for
from markupsafe import Markup
from markupsafe import escape

from engine.domain import figures as definitions
from engine.domain import kpi
from engine.store.statistics import Figures
from engine.store.statistics import OfficerRow
from engine.store.statistics import Row
from web import formatting
from web.i18n import page_gettext

#: Stands for the value a Linker fills in: letters only, which no quoting changes.
_SLOT = "xslotx"


class Linker:
    """The addresses of one endpoint that differ only in one path value (e.g. the officer), or with
    `in_query` one query value (e.g. the commune), built once with url_for and filled in with the
    routing's own quoting of that value: a table's hundreds of links cost one url_for. The path
    comes before the query, so the first slot is the path's whatever the query holds; a query slot
    keeps the place url_for gave its argument."""

    def __init__(self, endpoint: str, slot: str, *, in_query: bool = False, **values: Any):
        given: dict[str, Any] = {**values, slot: _SLOT} if in_query else {slot: _SLOT, **values}
        self.head, self.tail = url_for(endpoint, **given).split(_SLOT, 1)
        self.quote = _query_value if in_query else current_app.url_map.converters["default"](current_app.url_map).to_url

    def __call__(self, value) -> str:
        return f"{self.head}{self.quote(value)}{self.tail}"


def _query_value(value) -> str:
    """A query-string value quoted as url_for quotes it (werkzeug.urls._urlencode)."""
    return quote_plus(str(value), safe="!$'()*,/:;?@")


def working_hours(minutes, translated: Callable[[str], str] | None = None) -> str:
    """Working minutes as days of 8 hours, hours and minutes: 1 ngày 2 giờ 5 phút (`translated`:
    the page's catalogue, web.i18n.page_gettext, for a list of them)."""
    if minutes is None:
        return "—"
    _ = translated or page_gettext()  # named `_`, so that the texts are extracted for the catalogue
    sign, minutes = ("-", -minutes) if minutes < 0 else ("", minutes)
    days, rest = divmod(minutes, 480)
    hours, mins = divmod(rest, 60)
    parts = (
        [_("%(n)s ngày") % {"n": days}] * bool(days)
        + [_("%(n)s giờ") % {"n": hours}] * bool(hours)
        + [_("%(n)s phút") % {"n": mins}] * bool(mins)
    )
    return sign + (" ".join(parts) or _("%(n)s giờ") % {"n": 0})


def figure_cells(found: Figures, listing: str, locale: str | None = None) -> Markup:
    """One cell per figure of a table (engine.domain.figures.TABLE_COLUMNS); each number opens its
    dossiers: the list's address `listing` (with its query) and the figure's group."""
    href = escape(listing)
    cells = []
    for key in definitions.TABLE_COLUMNS:
        if key == "on_time_rate":
            cells.append(f'<td class="num" data-rate>{escape(formatting.rate(found.on_time_rate, locale))}</td>')
            continue
        value = found.value(key)
        link = f'<a href="{href}&amp;nhom={key}" data-bucket="{key}">{value}</a>' if value else "0"
        cells.append(f'<td class="num">{link}</td>')
    return Markup("".join(cells))


def figure_rows(rows: Iterable[Row], filters, argument: str) -> Markup:
    """A per-commune or per-procedure table's body (supervise/_tables.html), in Vietnamese
    alphabetical order of the names: each row's numbers open its dossiers, with the page's filters
    (web.supervise.filters.Filters) and the row's key as `argument` (xa, thu_tuc) in its place
    among them. The lines are the ones the template's loop wrote, its indentation included."""
    listing = Linker("supervise.dossiers", argument, in_query=True, **filters.args(**{argument: _SLOT}))
    locale = formatting.page_locale()
    return Markup(
        "".join(
            f'\n    <tr data-key="{escape(row.key)}"><td>{escape(row.label)}</td>'
            f"{figure_cells(row.figures, listing(row.key), locale)}</tr>\n  "
            for row in formatting.collated(rows, lambda row: row.label)
        )
    )


def officer_cells(row: OfficerRow, locale: str | None = None) -> Markup:
    """The steps an officer completed (engine.domain.figures.STEP_COLUMNS' order), one cell each."""
    cells = []
    for key in definitions.STEP_COLUMNS:
        value = getattr(row, key)
        text = formatting.rate(value, locale) if key == "step_on_time_rate" else formatting.number(value, locale=locale)
        cells.append(f'<td class="num">{escape(text)}</td>')
    return Markup("".join(cells))


def officer_rows(officers: Iterable[OfficerRow], query: str) -> Markup:
    """The dashboard's officers' table body: each officer's name opens their steps (`query`: the
    filters' query string, with its '?')."""
    page = Linker("supervise.officer", "username")
    locale = formatting.page_locale()
    return Markup(
        "".join(
            f'<tr data-key="{escape(o.username)}"><td><a href="{escape(page(o.username) + query)}">'
            f"{escape(o.full_name)}</a></td>{officer_cells(o, locale)}</tr>"
            for o in officers
        )
    )


def kpi_cells(
    row: kpi.Kpi,
    columns: Iterable[tuple],
    figure_link: Callable[[str], str] | None = None,
    translated: Callable[[str], str] | None = None,
    locale: str | None = None,
) -> Markup:
    """One KPI row's cells (`columns`: (key, name, meaning) as web.supervise.kpi.COLUMNS); with
    `figure_link` (an officer's row), each figure with lines behind it opens them."""
    cells = []
    for key, _name, _meaning in columns:
        if key == "on_time_rate":
            text = escape(formatting.rate(row.on_time_rate, locale))
        elif key in ("median_minutes", "p90_minutes"):
            minutes = getattr(row, key)
            text = escape("—" if minutes is None else f"≈ {working_hours(minutes, translated)}")
        elif key == "satisfaction":
            text = escape("—" if row.satisfaction is None else formatting.number(row.satisfaction, locale=locale))
        elif figure_link is not None and row.counts[key]:
            text = Markup(f'<a href="{escape(figure_link(key))}" data-figure="{key}">{row.counts[key]}</a>')
        else:
            text = escape(row.counts[key])
        cells.append(f'<td class="num">{text}</td>')
    return Markup("".join(cells))


def kpi_officer_rows(officers: Iterable[kpi.Kpi], columns: tuple, filter_args: dict) -> Markup:
    """The KPI page's officers' table body: each name opens the officer's steps, each figure the
    lines behind it, with the page's filters."""
    page = Linker("supervise.kpi_officer", "username", **filter_args)
    # chi_so comes first in the query, as the template wrote it: the first figure slot of the tail.
    figure_page = Linker("supervise.kpi_officer", "username", chi_so=_FIGURE, **filter_args)
    before, after = figure_page.tail.split(_FIGURE, 1)
    translated, locale = page_gettext(), formatting.page_locale()
    rows = []
    for row in officers:
        officer = f"{figure_page.head}{figure_page.quote(row.key)}{before}"
        link = lambda key, officer=officer: f"{officer}{key}{after}"  # noqa: E731
        rows.append(
            f'<tr data-officer="{escape(row.key)}"><td><a href="{escape(page(row.key))}">{escape(row.name)}</a></td>'
            f"<td>{escape(row.unit)}</td>{kpi_cells(row, columns, link, translated, locale)}</tr>"
        )
    return Markup("".join(rows))


#: Stands for the figure in an officer's KPI link (a figure's key is a Python name: no quoting changes it).
_FIGURE = "xfigurex"


def at_risk_rows(risks, now: datetime, reasons: dict[str, str], status_labels: dict[int, str]) -> Markup:
    """The at-risk list's rows (supervise/at_risk.html's table body): 200 a page, each with its
    reasons and forecast in words, about twenty translated texts a row, each looked up in the
    page's catalogue (web.i18n.page_gettext) rather than through the request's locale every time.
    The forecast's words are forecast_why's, without the letter's deadline."""
    translated = page_gettext()

    def _(message: str, **variables) -> Markup:  # named `_`: its texts are extracted for the catalogue
        return Markup(translated(message)) % variables  # as Jinja's gettext: always formatted

    hours = lambda minutes: working_hours(minutes, translated)  # noqa: E731
    when = formatting.local_time_writer()
    dossier_page = Linker("supervise.dossier", "code")
    rows = []
    for r in risks:
        d = r.dossier
        badges = "".join(
            f'<span class="badge {"late" if reason == "cannot_fit" else "soon"}">{_(reasons[reason])}</span> '
            for reason in r.reasons
        )
        made = (
            f' <span class="forecast-at">{_("Dự báo lúc %(time)s.", time=when(r.forecast_at))}</span>'
            if r.forecast_at < now
            else ""
        )
        label = status_labels.get(d.status)
        rows.append(
            f'<tr data-code="{escape(d.code)}"><td><a href="{escape(dossier_page(d.code))}">{escape(d.code)}</a></td>'
            f"<td>{escape(d.procedure)}</td><td>{escape(d.unit)}</td><td>{escape(when(d.received_at))}</td>"
            f"<td>{escape(when(d.appointment_at))}</td><td>{_(label) if label else escape(d.status)}</td>"
            f"<td>{escape(', '.join(step.name for step in d.steps) or '—')}</td>"
            f'<td class="why">{badges}<br><small>{forecast_why(r.forecast, False, _, hours, when)}{made}</small></td>'
            f"<td>{escape(when(r.projected_finish))}</td>"
            f"<td>{escape(hours(r.shortfall_minutes) if r.shortfall_minutes else '—')}</td></tr>"
        )
    return Markup("".join(rows))


def forecast_why(f, deadline: bool = True, _=None, hours=None, when=None) -> Markup:
    """Why a dossier is forecast to miss its appointment: the step it hangs on, the work left, the
    time left, and (`deadline`) by when the apology letter is due. A page writing many passes the
    page's `_`, `hours` and `when` (at_risk_rows); a template calls it as `forecast_why(f)`."""
    if not f:
        return Markup("")
    if _ is None:
        translated = page_gettext()
        _ = lambda message, **variables: Markup(translated(message)) % variables  # noqa: E731
        hours = lambda minutes: working_hours(minutes, translated)  # noqa: E731
        when = formatting.local_time_writer()
    parts = []
    if f.step:
        if f.step_late_minutes:
            parts.append(_("Bước «%(step)s» trễ %(late)s", step=f.step, late=hours(f.step_late_minutes)))
        else:
            parts.append(_("Bước «%(step)s» chưa xong", step=f.step))
        parts.append("; ")
    parts.append(_("còn lại %(work)s làm việc", work=hours(f.remaining_minutes)))
    if f.minutes_left:
        ending = _("hẹn trả còn %(left)s", left=hours(f.minutes_left))
    elif f.appointment_passed:
        ending = _("đã quá hạn trả")
    else:
        ending = _("không còn giờ làm việc nào trước hạn trả")
    apology = ""
    if deadline and f.apology_deadline:
        if not f.letter_overdue:
            apology = " " + _("Phiếu xin lỗi và hẹn lại ban hành trước %(time)s.", time=when(f.apology_deadline))
        else:
            apology = " " + _("Phiếu xin lỗi và hẹn lại cần ban hành ngay.")
    return Markup(f'<span class="forecast-why">{"".join(parts)}, {ending}.{apology}</span>')
