"""The decision-table editor (dmn-js, beside the BPMN editor): open a version's table, save it
into the template's draft, see the template's findings on the table's cells; start a new table.
Also the connector registry the BPMN editor's service-task panel offers."""

from __future__ import annotations

from flask import Response
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext

from configurator import decision_drafts
from configurator import drafts
from configurator import templates
from engine.domain import connectors
from engine.domain.errors import EngineError
from web.guards import db_int
from web.model import bp
from web.model.labels import STATUS_LABELS
from web.model.labels import finding_dict
from web.refusals import localised
from web.security import modeller_required
from web.wiring import runtime


@bp.get("/<key>/v<int:version>/tep/<name>")
@modeller_required
def version_file(key: str, version: int, name: str):
    """One DMN file of a version, as stored (the editor loads it)."""
    files = drafts.version_files(runtime(), key, version)
    if name not in decision_drafts.decision_files(files):
        abort(404)
    return Response(files[name], mimetype="application/xml")


@bp.get("/<key>/v<int:version>/bang-quyet-dinh/<name>")
@modeller_required
def decision_editor(key: str, version: int, name: str):
    overview = templates.overview(runtime(), key)
    shown = overview.version(version)
    files = drafts.version_files(runtime(), key, version) if shown else {}
    if shown is None or name not in decision_drafts.decision_files(files):
        abort(404)
    report = drafts.validate_version(runtime(), key, version)
    return _editor_page(overview, shown, name, report.findings)


def _messages() -> dict[str, str]:
    """What decisions.js says, translated here (its own catalogue, apart from the diagram editor's)."""
    return {
        "saving": gettext("Đang lưu…"),
        "saved": gettext("Đã lưu bản nháp phiên bản %(version)s"),
        "valid": gettext(" — hợp lệ. "),
        "invalid": gettext(" — còn lỗi, xem danh sách. "),
        "back": gettext("Về trang mẫu để công bố"),
        "not_saved": gettext("Chưa lưu: %(error)s"),
        "not_sent": gettext("Không gửi được: %(error)s"),
        "cannot_open": gettext("Không mở được bảng: %(error)s"),
        "none": gettext("Bảng không có lỗi hay cảnh báo."),
        "counts": gettext("%(errors)s lỗi, %(warnings)s cảnh báo trong bảng. Bấm vào một dòng để tới ô đó."),
        "others": gettext("Mẫu còn %(count)s lỗi ở sơ đồ hoặc tệp khác."),
    }


def _editor_page(overview, shown, name: str, findings, blank: str | None = None):
    return render_template(
        "model/decision_editor.html",
        overview=overview,
        shown=shown,
        name=name,
        status_labels=STATUS_LABELS,
        blank=blank,
        messages=_messages(),
        findings=[finding_dict(f) for f in findings if f.file == name],
    )


@bp.post("/<key>/v<int:version>/bang-quyet-dinh")
@modeller_required
def new_decision_table(key: str, version: int):
    """A blank table for a new decision; it becomes part of the draft when first saved."""
    overview = templates.overview(runtime(), key)
    shown = overview.version(version)
    if shown is None:
        abort(404)
    decision_id = (request.form.get("decision") or "").strip()
    try:
        blank = decision_drafts.blank_table(decision_id, (request.form.get("name") or "").strip())
    except EngineError as exc:
        flash(localised(exc), "error")
        return redirect(url_for("model.template", key=key, **{"phien-ban": version}))
    return _editor_page(overview, shown, f"{decision_id}.dmn", [], blank=blank)


@bp.post("/<key>/ban-nhap/bang-quyet-dinh/<name>")
@modeller_required
def save_decision_table(key: str, name: str):
    """The table editor posts the DMN XML; answers with the draft version and the table's findings."""
    base = request.args.get("tu-phien-ban", type=db_int)
    try:
        saved = decision_drafts.save_decision_table(runtime(), key, name, request.get_data(), base_version=base)
    except EngineError as exc:
        return jsonify({"error": localised(exc), "field": exc.field or "dmn"}), 400
    report = saved.report
    return jsonify(
        {
            "version": saved.version,
            "ok": report.ok,
            "editor_url": url_for("model.decision_editor", key=key, version=saved.version, name=name),
            "template_url": url_for("model.template", key=key, **{"phien-ban": saved.version}),
            "findings": [finding_dict(f) for f in report.findings if f.file == name],
            "other_errors": len([f for f in report.errors if f.file != name]),
        }
    )


@bp.context_processor
def _decision_tables_helper():
    """`decision_tables(key, version)` for the template page: the DMN files of a version."""

    def decision_tables(key: str, version: int) -> list[str]:
        return decision_drafts.decision_files(drafts.version_files(runtime(), key, version))

    return {"decision_tables": decision_tables}


@bp.context_processor
def _connector_registry_helper():
    """`connector_registry()` for the editor's service-task panel (static/connectors.js)."""

    def connector_registry() -> list[dict]:
        from web.admin.connectors import connector_labels

        labels = connector_labels()
        return [
            {
                "name": spec.name,
                "label": labels.get(spec.name, spec.label),
                "parameters": [{"name": p.name, "required": p.required, "help": p.help} for p in spec.parameters],
            }
            for spec in connectors.CONNECTORS.values()
        ]

    return {"connector_registry": connector_registry}
