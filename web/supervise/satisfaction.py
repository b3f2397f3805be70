"""The supervisor's satisfaction figures (Decision 766/QĐ-TTg criteria) per commune, procedure and
officer for ratings given in the period, with the same CSV/XLSX export as the statistics report."""

from __future__ import annotations

from flask import Response
from flask import abort
from flask import render_template
from flask_login import current_user

from engine.store import satisfaction_queries
from web.public.rating import CRITERION_LABELS
from web.security import supervisor_required
from web.supervise import bp
from web.supervise import filters as filtering
from web.supervise import report
from web.supervise import satisfaction_report
from web.supervise.views import read_filters
from web.wiring import runtime


def _tables(scope):
    with runtime().db.report_session() as s:
        return {
            "communes": satisfaction_queries.by_commune(s, scope),
            "procedures": satisfaction_queries.by_procedure(s, scope),
            "officers": satisfaction_queries.by_officer(s, scope),
            "total": satisfaction_queries.total(s, scope),
        }


@bp.get("/hai-long")
@supervisor_required
def satisfaction():
    found, errors, options = read_filters()
    tables = None if errors else _tables(found.scope(current_user.supervised_units))
    return render_template(
        "supervise/satisfaction.html",
        filters=found,
        errors=errors,
        options=options,
        tables=tables,
        criteria=CRITERION_LABELS,
    ), 400 if errors else 200


@bp.get("/hai-long.<kind>")
@supervisor_required
def satisfaction_export(kind: str):
    if kind not in ("xlsx", "csv"):
        abort(404)
    found, errors, options = read_filters()
    if errors:
        abort(400)
    tables = _tables(found.scope(current_user.supervised_units))
    now = runtime().clock.now().astimezone(filtering.VN)
    lines = satisfaction_report.rows(tables, report.range_text(found), report.scope_text(found, options), now)
    name = f"hai-long-{found.date_from:%Y%m%d}-{found.date_to:%Y%m%d}.{kind}"
    if kind == "xlsx":
        body, mimetype = report.to_xlsx(lines), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = report.to_csv(lines), "text/csv; charset=utf-8"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
