"""The dashboard's table cells, written in Python: a province's tables hold about 4,000 of them,
and a Jinja macro call, a url_for and a Babel pattern for each were most of the page's time. The
cells are the ones the templates wrote (supervise/_tables.html)."""

from __future__ import annotations

from markupsafe import Markup
from markupsafe import escape

from engine.domain import figures as definitions
from engine.store.statistics import Figures
from engine.store.statistics import OfficerRow
from web import formatting


def figure_cells(found: Figures, listing: str) -> Markup:
    """One cell per figure of a table (engine.domain.figures.TABLE_COLUMNS); each number opens its
    dossiers: the list's address `listing` (with its query) and the figure's group."""
    href = escape(listing)
    cells = []
    for key in definitions.TABLE_COLUMNS:
        if key == "on_time_rate":
            cells.append(f'<td class="num" data-rate>{escape(formatting.rate(found.on_time_rate))}</td>')
            continue
        value = found.value(key)
        link = f'<a href="{href}&amp;nhom={key}" data-bucket="{key}">{value}</a>' if value else "0"
        cells.append(f'<td class="num">{link}</td>')
    return Markup("".join(cells))


def officer_cells(row: OfficerRow) -> Markup:
    """The steps an officer completed (engine.domain.figures.STEP_COLUMNS' order), one cell each."""
    cells = []
    for key in definitions.STEP_COLUMNS:
        value = getattr(row, key)
        text = formatting.rate(value) if key == "step_on_time_rate" else formatting.number(value)
        cells.append(f'<td class="num">{escape(text)}</td>')
    return Markup("".join(cells))
