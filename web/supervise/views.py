"""Supervisor pages. Every page reads only the communes in current_user.supervised_units."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from operator import itemgetter

from flask import Response
from flask import abort
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from engine.domain import figures
from engine.services import incidents
from engine.services import supervision
from engine.store import statistics
from web import formatting
from web.display import CHANNEL_LABELS
from web.display import CLASSIFICATION_LABELS
from web.display import STATUS_LABELS_VI
from web.guards import db_int
from web.i18n import current_language
from web.i18n import gettext
from web.refusals import engine_messages
from web.security import supervisor_required
from web.supervise import bp
from web.supervise import cells
from web.supervise import filters as filtering
from web.supervise import report
from web.wiring import runtime

SLA_ACTION_LABELS = {
    "sla_warning": "Cảnh báo sắp đến hạn",
    "sla_breach": "Quá hạn bước",
    "sla_escalation": "Chuyển cấp xử lý",
    "apology_requested": "Yêu cầu xin lỗi, hẹn lại",
}
ESCALATION_ACTIONS = {"notify": "thông báo", "reassign": "giao lại", "priority": "nâng ưu tiên"}
RISK_REASONS = {
    supervision.APOLOGY_DUE: "Cần phiếu xin lỗi và hẹn lại",
    supervision.CANNOT_FIT: "Thời gian các bước còn lại vượt quá hạn trả",
}
#: The at-risk list shows the dossiers with the nearest appointments first, this many a page.
AT_RISK_SHOWN = 200
#: A drill-down list shows this many dossiers a page.
DOSSIERS_SHOWN = 500
ALL_TIME = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


bp.app_template_filter("working_hours")(cells.working_hours)
bp.app_template_global("forecast_why")(cells.forecast_why)


def figure_text(text: str) -> str:
    """A figure's name or meaning (English in engine.domain.figures) in the reader's language."""
    return text if current_language() == "en" else engine_messages.gettext(text)


@bp.context_processor
def _labels():
    return {
        "classification_labels": CLASSIFICATION_LABELS,
        "figure_text": figure_text,
        "figures": figures,
        "channel_labels": CHANNEL_LABELS,
        "status_labels": {s.value: label for s, label in STATUS_LABELS_VI.items()},
        "figure_cells_html": cells.figure_cells,
        "figure_rows_html": cells.figure_rows,
        "officer_cells_html": cells.officer_cells,
        "officer_rows_html": cells.officer_rows,
        "kpi_cells_html": cells.kpi_cells,
        "kpi_officer_rows_html": cells.kpi_officer_rows,
        "at_risk_rows_html": cells.at_risk_rows,
    }


def read_filters():
    """(filters, errors, options): the request's filters, checked against what this user may see."""
    options = supervision.filter_options(runtime(), current_user.supervised_units)
    found, errors = filtering.parse(
        request.args,
        runtime().clock.now(),
        {code for code, _ in options.communes},
        {key for key, _ in options.procedures},
    )
    return found, errors, options


def _is_partial() -> bool:
    """An htmx request for the tables only (not a history restore, which wants the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


@bp.get("/")
@supervisor_required
def dashboard():
    found, errors, options = read_filters()
    board = trend = None
    if not errors:
        scope = found.scope(current_user.supervised_units)
        board = supervision.dashboard(runtime(), scope, runtime().clock.now())
        trend = supervision.trend(runtime(), scope)
    context = dict(
        filters=found,
        errors=errors,
        options=options,
        board=board,
        chart=_chart(board, trend, found),
        officers=_officers_shown(board, found),
        officer_choices=_officer_choices(board),
    )
    template = "supervise/_tables.html" if _is_partial() else "supervise/dashboard.html"
    if not _is_partial():
        context["open_incidents"] = incidents.open_count(runtime(), {code for code, _ in options.communes})
    response = Response(render_template(template, **context), status=400 if errors else 200)
    response.vary.add("HX-Request")
    return response


def _officers_shown(board, found) -> list:
    """The officers' rows: the one the filter names, or everyone's by name."""
    if board is None:
        return []
    rows = [o for o in board.officers if found.officer in (None, o.username)]
    return formatting.collated(rows, lambda o: o.full_name)


def _officer_choices(board) -> list[tuple[str, str]]:
    """(user name, full name) of the officers who completed steps in the period, by name."""
    return formatting.collated([(o.username, o.full_name) for o in board.officers] if board else [], itemgetter(1))


@bp.get("/so-lieu.json")
@supervisor_required
def figures_json():
    found, errors, _options = read_filters()
    if errors:
        return jsonify({"error": gettext("Bộ lọc không hợp lệ"), "fields": errors}), 400
    board = supervision.dashboard(runtime(), found.scope(current_user.supervised_units), runtime().clock.now())
    return jsonify(
        {
            "range": {"from": found.date_from.isoformat(), "to": found.date_to.isoformat()},
            "summary": _figures_json(board.summary),
            **_chart(board),
            "communes": [{"code": r.key, "name": r.label, **_figures_json(r.figures)} for r in board.communes],
            "procedures": [{"key": r.key, "name": r.label, **_figures_json(r.figures)} for r in board.procedures],
        }
    )


def _figures_json(found: statistics.Figures) -> dict:
    return found.as_dict()


#: How many communes and procedures the "most late" charts show; the tables below hold the rest.
TOP = 10
TOP_OFFICERS = 15


def _chart(board, trend=None, found=None) -> dict:
    """What the charts draw: the results by class; the communes and procedures with the most late
    dossiers (finished late, or overdue now), each bar with the link to its dossiers; the trend by
    week; the officers' on-time rates. `by_commune` stays for the JSON's readers."""
    if board is None:
        return {}
    drawn = {
        "results": {
            "labels": [gettext(label) for label in CLASSIFICATION_LABELS.values()],
            "values": [board.summary.early, board.summary.on_time, board.summary.late],
        },
        "by_commune": {
            "labels": [row.label for row in board.communes],
            "early": [row.figures.early for row in board.communes],
            "on_time": [row.figures.on_time for row in board.communes],
            "late": [row.figures.late for row in board.communes],
            "overdue": [row.figures.overdue for row in board.communes],
        },
    }
    if found is not None:
        drawn["late_communes"] = _most_late(board.communes, "xa", found)
        drawn["late_procedures"] = _most_late(board.procedures, "thu_tuc", found)
        drawn["officers"] = _officer_rates(_officers_shown(board, found), found)
    if trend is not None:
        drawn["trend"] = {
            "by_month": bool(trend) and trend[0].by_month,
            "labels": [_period_label(point) for point in trend],
            "in_time": [point.figures.early + point.figures.on_time for point in trend],
            "late": [point.figures.late for point in trend],
        }
    return drawn


def _most_late(rows, argument: str, found) -> dict:
    worst = sorted(
        (r for r in rows if r.figures.late + r.figures.overdue),
        key=lambda r: (-(r.figures.late + r.figures.overdue), formatting.sort_key(r.label)),
    )[:TOP]
    link = lambda bucket, row: url_for("supervise.dossiers", nhom=bucket, **found.args(**{argument: row.key}))  # noqa: E731
    return {
        "labels": [r.label for r in worst],
        "late": [r.figures.late for r in worst],
        "overdue": [r.figures.overdue for r in worst],
        "late_links": [link("late", r) for r in worst],
        "overdue_links": [link("overdue", r) for r in worst],
    }


def _officer_rates(officers, found) -> dict:
    """On-time rate (in %) of the TOP_OFFICERS officers with the lowest, among those whose steps had
    a deadline: those a supervisor calls first (the table below has everyone)."""
    rated = sorted(
        (o for o in officers if o.step_on_time_rate is not None),
        key=lambda o: (o.step_on_time_rate, formatting.sort_key(o.full_name)),
    )[:TOP_OFFICERS]
    return {
        "labels": [o.full_name for o in rated],
        "rates": [round(o.step_on_time_rate * 100, 1) for o in rated],
        "links": [url_for("supervise.officer", username=o.username, **found.args()) for o in rated],
    }


def _period_label(point) -> str:
    local = point.start.astimezone(filtering.VN)
    if point.by_month:
        return gettext("Tháng %(month)s", month=local.strftime("%m/%Y"))
    return gettext("Tuần từ %(day)s", day=local.strftime("%d/%m"))


@bp.get("/ho-so")
@supervisor_required
def dossiers():
    """The dossiers behind one number: ?nhom=<bucket>, with the dashboard's filters."""
    found, errors, options = read_filters()
    bucket = request.args.get("nhom", "")
    if bucket not in figures.LISTABLE:
        errors["nhom"] = gettext("Nhóm hồ sơ: %(bucket)s không phải một nhóm của bảng thống kê.", bucket=bucket)
    after = _page_start(errors)
    lines = []
    if not errors:
        with runtime().db.report_session() as s:
            scope = found.scope(current_user.supervised_units)
            lines = statistics.dossiers(s, scope, bucket, runtime().clock.now(), limit=DOSSIERS_SHOWN + 1, after=after)
    return render_template(
        "supervise/dossiers.html",
        filters=found,
        errors=errors,
        options=options,
        bucket=bucket,
        lines=lines[:DOSSIERS_SHOWN],
        limit=DOSSIERS_SHOWN,
        next_page=_next_page(lines, DOSSIERS_SHOWN, lambda line: (line.appointment_at, line.id)),
        first_page=after is not None,
    ), 400 if errors else 200


def _page_start(errors: dict) -> tuple | None:
    """?sau=<appointment, ISO 8601>~<id> (nothing before the ~ for a dossier without one): the
    appointment and id of the last dossier the previous page showed; None on the first page."""
    raw = request.args.get("sau", "")
    if not raw:
        return None
    appointment, _, dossier_id = raw.rpartition("~")
    try:
        return (datetime.fromisoformat(appointment) if appointment else None, db_int(dossier_id))
    except ValueError:  # not a date, not a number, or an id no row can have (PostgreSQL refused it)
        errors["sau"] = gettext("Trang: %(value)s không phải vị trí của một trang danh sách.", value=raw)
        return None


def _next_page(found: list, shown: int, key) -> str | None:
    """The ?sau= of the page after this one, when one more than shown was found."""
    if len(found) <= shown:
        return None
    appointment, dossier_id = key(found[shown - 1])
    return f"{appointment.isoformat() if appointment else ''}~{dossier_id}"


@bp.get("/can-bo/<username>")
@supervisor_required
def officer(username: str):
    """The steps one officer completed in the range, in the communes this user supervises."""
    found, errors, options = read_filters()
    steps = []
    if not errors:
        with runtime().db.report_session() as s:
            steps = statistics.officer_steps(s, found.scope(current_user.supervised_units), username)
    return render_template(
        "supervise/officer.html", filters=found, errors=errors, options=options, username=username, steps=steps
    ), 400 if errors else 200


@bp.get("/nguy-co")
@supervisor_required
def at_risk():
    found, errors, options = read_filters()
    after = _page_start(errors)
    risks = []
    if not errors:
        scope = found.scope(current_user.supervised_units)
        # One more than shown: whether to say that the list goes on.
        now = runtime().clock.now()
        risks = supervision.at_risk(runtime(), scope, now, limit=AT_RISK_SHOWN + 1, after=after)
    return render_template(
        "supervise/at_risk.html",
        filters=found,
        errors=errors,
        options=options,
        risks=risks[:AT_RISK_SHOWN],
        more=len(risks) > AT_RISK_SHOWN,
        next_page=_next_page(risks, AT_RISK_SHOWN, lambda risk: (risk.dossier.appointment_at, risk.dossier.id)),
        first_page=after is not None,
        reasons=RISK_REASONS,
        now=runtime().clock.now(),
    ), 400 if errors else 200


@bp.get("/leo-thang")
@supervisor_required
def escalations():
    found, errors, options = read_filters()
    lines = []
    if not errors:
        with runtime().db.report_session() as s:
            lines = statistics.escalations(s, found.scope(current_user.supervised_units))
    return render_template(
        "supervise/escalations.html",
        filters=found,
        errors=errors,
        options=options,
        lines=lines,
        actions=SLA_ACTION_LABELS,
        taken=ESCALATION_ACTIONS,
    ), 400 if errors else 200


@bp.get("/ho-so/<code>")
@supervisor_required
def dossier(code: str):
    """One dossier of a supervised commune: its steps with their deadlines and the SLA events."""
    units = current_user.supervised_units
    with runtime().db.report_session() as s:
        found = statistics.dossier_detail(s, code, units)
        if found is None:
            abort(404, description=gettext("Không có hồ sơ %(code)s trong các xã/phường bạn giám sát.", code=code))
        events = statistics.escalations(s, statistics.Scope(units, *ALL_TIME), code=code)
    line, steps = found
    return render_template(
        "supervise/dossier.html",
        line=line,
        steps=steps,
        events=events,
        actions=SLA_ACTION_LABELS,
        taken=ESCALATION_ACTIONS,
    )


@bp.get("/bao-cao.<kind>")
@supervisor_required
def export(kind: str):
    if kind not in ("xlsx", "csv"):
        abort(404)
    found, errors, options = read_filters()
    if errors:
        return render_template(
            "supervise/dashboard.html",
            filters=found,
            errors=errors,
            options=options,
            board=None,
            chart={},
            officers=[],
            officer_choices=[],
        ), 400
    now = runtime().clock.now()
    board = supervision.dashboard(runtime(), found.scope(current_user.supervised_units), now)
    lines = report.rows(
        board, report.range_text(found), report.scope_text(found, options), now.astimezone(filtering.VN)
    )
    name = f"thong-ke-{found.date_from:%Y%m%d}-{found.date_to:%Y%m%d}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "xlsx":
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(report.to_xlsx(lines), mimetype=mimetype, headers=headers)
    # Streamed: its first lines leave while the rest is written (the figures are all read already).
    return Response(report.csv_chunks(lines), mimetype="text/csv; charset=utf-8", headers=headers)
