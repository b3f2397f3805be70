"""Procedure list, template page (versions and diagram), the editor, saving a draft, publishing."""

from __future__ import annotations

from flask import Response
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext

from configurator import drafts
from configurator import step_values
from configurator import templates
from engine.domain.errors import EngineError
from web.guards import db_int
from web.model import bp
from web.model.labels import LEVELS
from web.model.labels import STATUS_LABELS
from web.model.labels import finding_dict
from web.refusals import localised
from web.security import modeller_required
from web.wiring import runtime

PAGE_SIZE = 30


@bp.get("/")
@modeller_required
def procedures():
    text = (request.args.get("q") or "").strip()
    field = (request.args.get("linh-vuc") or "").strip() or None
    level = (request.args.get("cap") or "").strip() or None
    page = max(request.args.get("trang", 1, type=db_int) or 1, 1)
    found = templates.procedure_list(runtime(), text, field, level, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template(
        "model/procedures.html",
        found=found,
        text=text,
        field=field or "",
        level=level or "",
        page=page,
        pages=pages,
        levels=LEVELS,
        status_labels=STATUS_LABELS,
    )


@bp.get("/<key>")
@modeller_required
def template(key: str):
    return _template_page(key, request.args.get("phien-ban", type=db_int))


def _template_page(key: str, shown_version: int | None, *, publish_report=None, status: int = 200):
    overview = templates.overview(runtime(), key)
    shown = overview.version(shown_version)
    return render_template(
        "model/template.html",
        overview=overview,
        shown=shown,
        levels=LEVELS,
        status_labels=STATUS_LABELS,
        publish_report=publish_report,
    ), status


@bp.get("/<key>/v<int:version>.bpmn")
@modeller_required
def version_xml(key: str, version: int):
    return Response(drafts.version_bpmn(runtime(), key, version), mimetype="application/xml")


@bp.get("/<key>/v<int:version>/sua")
@modeller_required
def editor(key: str, version: int):
    overview = templates.overview(runtime(), key)
    shown = overview.version(version)
    if shown is None:
        return _template_page(key, None, status=404)
    report = drafts.validate_version(runtime(), key, version)
    return render_template(
        "model/editor.html",
        overview=overview,
        shown=shown,
        status_labels=STATUS_LABELS,
        findings=[finding_dict(f) for f in report.findings],
    )


@bp.post("/<key>/ban-nhap")
@modeller_required
def save_draft(key: str):
    """The editor posts the diagram's XML; answers with the draft version and its findings."""
    base = request.args.get("tu-phien-ban", type=db_int)
    try:
        saved = drafts.save_draft(runtime(), key, request.get_data(), base_version=base)
    except EngineError as exc:
        return jsonify({"error": localised(exc), "field": exc.field or "bpmn"}), 400
    report = saved.report
    return jsonify(
        {
            "version": saved.version,
            "ok": report.ok,
            "editor_url": url_for("model.editor", key=key, version=saved.version),
            "template_url": url_for("model.template", key=key, **{"phien-ban": saved.version}),
            "findings": [finding_dict(f) for f in report.findings],
        }
    )


@bp.post("/<key>/v<int:version>/cong-bo")
@modeller_required
def publish(key: str, version: int):
    try:
        published = drafts.publish(runtime(), key, version)
    except drafts.PublishRefused as refused:
        return _template_page(key, version, publish_report=refused.report, status=422)
    flash(
        gettext("Đã công bố phiên bản %(version)s. Hãy triển khai cho các xã, phường.", version=published.version), "ok"
    )
    return redirect(url_for("model.template", key=key, **{"phien-ban": published.version}))


@bp.get("/kiem-tra-buoc")
@modeller_required
def check_step_values():
    """The editor's panel asks, as the modeller types, which values a saved template would refuse."""
    values = {
        "budget": request.args.get("budget"),
        "warnAt": request.args.get("warnAt"),
        "after": request.args.getlist("after"),
    }
    return jsonify({name: localised(reason) for name, reason in step_values.problems(values).items()})
