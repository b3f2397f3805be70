"""Step-table authoring, rollout to the communes, version diff and simulation."""

from __future__ import annotations

from datetime import datetime

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import rollouts
from configurator import templates
from configurator import versions
from configurator.step_tables import StepTableError
from configurator.step_tables import rows as step_rows
from engine.domain.errors import EngineError
from web.display import LOCAL_TZ as VN
from web.guards import db_int
from web.model import bp
from web.model.labels import STATUS_LABELS
from web.refusals import localised
from web.security import modeller_required
from web.wiring import runtime

MAX_ROWS = 200


@bp.route("/<key>/bang-buoc", methods=["GET", "POST"])
@modeller_required
def step_table(key: str):
    if request.method == "GET":
        grid = step_rows.grid_for(runtime(), key)
        return render_template("model/step_table.html", key=key, name=grid.settings["name"], grid=grid)
    count = min(request.form.get("rows", 0, type=db_int) or 0, MAX_ROWS)
    try:
        settings, rows = step_rows.read_form(request.form, count)
    except EngineError as exc:
        grid = step_rows.grid_for(runtime(), key)
        grid.problems = [localised(exc)]
        return render_template("model/step_table.html", key=key, name=grid.settings["name"], grid=grid), 400
    grid = step_rows.StepGrid(settings, rows)
    if request.form.get("action") == "them-dong":
        grid.rows += step_rows.blank_rows(step_rows.BLANK_ROWS)
        return render_template("model/step_table.html", key=key, name=settings["name"], grid=grid)
    try:
        saved = step_rows.build_draft(runtime(), key, settings, rows)
    except StepTableError as exc:
        grid.problems = [localised(p) for p in exc.problems]
        return render_template("model/step_table.html", key=key, name=settings["name"], grid=grid), 400
    flash(
        gettext("Đã tạo sơ đồ từ bảng bước và lưu thành bản nháp phiên bản %(version)s.", version=saved.version), "ok"
    )
    return redirect(url_for("model.editor", key=key, version=saved.version))


@bp.get("/<key>/v<int:version>/trien-khai")
@modeller_required
def rollout(key: str, version: int):
    progress = rollouts.progress(runtime(), key, version, current_user.unit_code)
    return render_template("model/rollout.html", progress=progress, name=templates.overview(runtime(), key).name)


@bp.post("/<key>/v<int:version>/trien-khai")
@modeller_required
def rollout_step(key: str, version: int):
    """One chunk of communes; the fragment asks for the next chunk itself until all are done."""
    progress = rollouts.rollout_next(runtime(), key, version, current_user.unit_code)
    return render_template("model/_rollout_progress.html", progress=progress, running=not progress.finished)


@bp.get("/<key>/so-sanh")
@modeller_required
def diff(key: str):
    overview = templates.overview(runtime(), key)
    numbers = [v.version for v in overview.versions]
    old = request.args.get("tu", type=db_int) or (numbers[-2] if len(numbers) > 1 else None)
    new = request.args.get("den", type=db_int) or (numbers[-1] if numbers else None)
    result, error = None, None
    if old is not None and new is not None:
        if old not in numbers or new not in numbers:
            error = gettext("Phiên bản so sánh (tu/den) không có trong mẫu quy trình này.")
        elif old == new:
            error = gettext("Hãy chọn hai phiên bản khác nhau để so sánh.")
        else:
            try:
                result = versions.diff_versions(runtime(), key, old, new)
            except EngineError as exc:
                error = gettext("Không so sánh được: %(reason)s", reason=localised(exc))
    return render_template(
        "model/diff.html", overview=overview, old=old, new=new, result=result, error=error, status_labels=STATUS_LABELS
    ), (400 if error else 200)


@bp.get("/<key>/v<int:version>/mo-phong")
@modeller_required
def simulate(key: str, version: int):
    overview = templates.overview(runtime(), key)
    communes = templates.communes_for(runtime(), current_user.unit_code)
    unit = request.args.get("don-vi") or (communes[0].code if communes else "")
    received_text = request.args.get("tiep-nhan") or runtime().clock.now().astimezone(VN).strftime("%Y-%m-%dT%H:%M")
    settings = request.args.get("thiet-lap") or "xa"
    simulated, error = None, None
    if "don-vi" in request.args:
        try:
            received = datetime.fromisoformat(received_text).replace(tzinfo=VN)
        except ValueError:
            error = gettext("Thời điểm tiếp nhận (tiep-nhan) không đúng dạng ngày giờ, ví dụ 2026-03-02T09:00.")
        else:
            if unit not in {c.code for c in communes}:
                error = gettext("Đơn vị (don-vi) không thuộc tỉnh, thành phố của bạn.")
            elif settings not in SIMULATION_SETTINGS:
                error = gettext("Thiết lập (thiet-lap) phải là «xa» (của xã, phường) hoặc «mau» (mẫu chung).")
            else:
                try:
                    simulated = templates.simulate_version(
                        runtime(), key, version, unit, received, local=settings == "xa"
                    )
                except EngineError as exc:
                    error = gettext("Không mô phỏng được: %(reason)s", reason=localised(exc))
    return render_template(
        "model/simulate.html",
        overview=overview,
        version=version,
        communes=communes,
        unit=unit,
        received_text=received_text,
        settings=settings,
        simulated=simulated,
        result=simulated.result if simulated else None,
        error=error,
    ), (400 if error else 200)


#: The simulation page's choice: the commune's own settings (its variant) or the bare template.
SIMULATION_SETTINGS = ("xa", "mau")
