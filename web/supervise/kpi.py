"""The officers' KPI pages: per officer and per commune for a period (engine.domain.kpi), the lines
behind each figure of one officer, and the KPI report as XLSX or CSV."""

from __future__ import annotations

import calendar
from datetime import date

from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext
from flask_login import current_user

from engine.domain import kpi
from engine.services import supervision
from engine.store import kpi_queries
from web.i18n import N_
from web.security import supervisor_required
from web.supervise import bp
from web.supervise import filters as filtering
from web.supervise import kpi_report
from web.supervise.views import read_filters
from web.wiring import runtime

#: Each column of the KPI tables: (key, header, what it counts). Satisfaction comes last, shown
#: only when ratings exist.
COLUMNS = (
    ("dossiers", N_("Hồ sơ đã xử lý"), N_("Hồ sơ có ít nhất một bước do cán bộ hoàn thành (mỗi hồ sơ tính một lần)")),
    ("step_early", N_("Bước trước hạn"), N_("Bước hoàn thành vào ngày làm việc trước ngày đến hạn")),
    ("step_on_time", N_("Bước đúng hạn"), N_("Bước hoàn thành trong ngày đến hạn, không sau giờ hạn")),
    ("step_late", N_("Bước trễ hạn"), N_("Bước hoàn thành sau giờ hạn")),
    ("step_no_deadline", N_("Bước không có hạn"), N_("Bước không có thời hạn xử lý")),
    ("on_time_rate", N_("Tỷ lệ đúng hạn"), N_("(Trước hạn + đúng hạn) / các bước có hạn")),
    (
        "median_minutes",
        N_("Thời gian xử lý bước (trung vị)"),
        N_("Thời gian làm việc từ lúc bước đến tay cán bộ tới khi hoàn thành; ước lượng trong một khoảng"),
    ),
    ("p90_minutes", N_("Thời gian xử lý bước (phân vị 90)"), N_("9 trên 10 bước xong trong thời gian làm việc này")),
    ("returns_caused", N_("Bị trả lại"), N_("Bước cán bộ đã làm bị bước sau trả lại")),
    ("supplements", N_("Yêu cầu bổ sung"), N_("Lần cán bộ yêu cầu công dân bổ sung hồ sơ")),
    ("reassigned", N_("Bị giao lại"), N_("Bước lãnh đạo chuyển từ cán bộ sang người khác hoặc về nhóm")),
    ("apologies", N_("Thư xin lỗi"), N_("Phiếu xin lỗi, hẹn lại của hồ sơ mà cán bộ đang giữ một bước trễ hạn")),
)
SATISFACTION = ("satisfaction", N_("Mức hài lòng của người dân"), N_("Điểm đánh giá trung bình của người dân"))
#: The tables' column headers, short enough for every column to fit a 1280-pixel screen; each
#: header's tooltip and the legend below the tables give the full name and what it counts.
SHORT_HEADERS = {
    "dossiers": N_("Hồ sơ"),
    "step_early": N_("Trước hạn"),
    "step_on_time": N_("Đúng hạn"),
    "step_late": N_("Trễ hạn"),
    "step_no_deadline": N_("Không hạn"),
    "on_time_rate": N_("Tỷ lệ đúng hạn"),
    "median_minutes": N_("TG trung vị"),
    "p90_minutes": N_("TG P90"),
    "returns_caused": N_("Bị trả lại"),
    "supplements": N_("Y/c bổ sung"),
    "reassigned": N_("Bị giao lại"),
    "apologies": N_("Xin lỗi"),
    "satisfaction": N_("Hài lòng"),
}
#: Figures whose number links to the lines behind it.
DRILLABLE = frozenset(kpi_queries.FIGURES)


def _periods(today: date) -> dict[str, tuple[date, date]]:
    """The quick periods: this month, this quarter, this year (Vietnam-local days)."""
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    quarter_end_month = quarter_start.month + 2
    return {
        "month": (today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1])),
        "quarter": (
            quarter_start,
            quarter_start.replace(month=quarter_end_month, day=calendar.monthrange(today.year, quarter_end_month)[1]),
        ),
        "year": (today.replace(month=1, day=1), today.replace(month=12, day=31)),
    }


@bp.get("/kpi")
@supervisor_required
def kpis():
    found, errors, options = read_filters()
    tables = None
    if not errors:
        tables = supervision.officer_kpis(runtime(), found.scope(current_user.supervised_units))
    today = runtime().clock.now().astimezone(filtering.VN).date()
    return render_template(
        "supervise/kpi.html",
        filters=found,
        errors=errors,
        options=options,
        tables=tables,
        columns=_shown_columns(tables),
        short_headers=SHORT_HEADERS,
        procedure_name=dict(options.procedures).get(found.procedure),
        periods=_periods(today),
    ), 400 if errors else 200


def _shown_columns(tables) -> tuple:
    rated = tables is not None and any(row.satisfaction is not None for row in tables.officers)
    return COLUMNS + ((SATISFACTION,) if rated else ())


@bp.get("/kpi/can-bo/<username>")
@supervisor_required
def kpi_officer(username: str):
    """The lines behind one figure of one officer (?chi_so=<figure>, the steps by default)."""
    found, errors, options = read_filters()
    figure = request.args.get("chi_so") or "steps"
    if figure not in DRILLABLE:
        errors["chi_so"] = gettext("Chỉ số: %(figure)s không phải một chỉ số có danh sách.", figure=figure)
    name, lines = username, []
    if not errors:
        name, lines = supervision.officer_kpi_lines(
            runtime(), found.scope(current_user.supervised_units), username, figure
        )
    exact = [line.working_minutes for line in lines if getattr(line, "working_minutes", None) is not None]
    labels = {key: header for key, header, _ in COLUMNS}
    return render_template(
        "supervise/kpi_officer.html",
        filters=found,
        errors=errors,
        options=options,
        username=username,
        name=name,
        figure=figure,
        lines=lines,
        labels=labels,
        events=figure in kpi_queries.EVENT_FIGURES,
        limit=500,
        median=kpi.exact_quantile(exact, 0.5),
        p90=kpi.exact_quantile(exact, 0.9),
    ), 400 if errors else 200


@bp.get("/kpi.<kind>")
@supervisor_required
def kpi_export(kind: str):
    if kind not in ("xlsx", "csv"):
        abort(404)
    found, errors, options = read_filters()
    if errors:
        abort(400, description="; ".join(errors.values()))
    tables = supervision.officer_kpis(runtime(), found.scope(current_user.supervised_units))
    lines = kpi_report.rows(
        tables,
        COLUMNS,
        SATISFACTION,
        kpi_report.range_text(found),
        kpi_report.scope_text(found, options),
        runtime().clock.now().astimezone(filtering.VN),
    )
    name = f"chi-so-can-bo-{found.date_from:%Y%m%d}-{found.date_to:%Y%m%d}.{kind}"
    if kind == "xlsx":
        body, mimetype = kpi_report.to_xlsx(lines), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = kpi_report.to_csv(lines), "text/csv; charset=utf-8"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
