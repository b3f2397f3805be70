"""Local differences: which communes run a template differently (another version, a named role
holder, a step budget), and the page where the modeller sets one commune's differences."""

from __future__ import annotations

from dataclasses import replace

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import templates
from configurator import variants
from web.desk.labels import role_label
from web.model import bp
from web.refusals import localised
from web.security import modeller_required
from web.wiring import runtime


@bp.get("/<key>/dia-phuong")
@modeller_required
def local_differences(key: str):
    communes = _communes()
    if request.args.get("ma") in communes:  # the commune picker
        return redirect(url_for("model.local_settings", key=key, unit=request.args["ma"]))
    overview = templates.overview(runtime(), key)
    drifts = [d for d in variants.drift_report(runtime(), key) if d.unit_code in communes]
    return render_template("model/local_differences.html", overview=overview, drifts=drifts, communes=communes)


@bp.route("/<key>/dia-phuong/<unit>", methods=["GET", "POST"])
@modeller_required
def local_settings(key: str, unit: str):
    if unit not in _communes():
        abort(404, description=gettext("Xã, phường này không thuộc tỉnh, thành phố của bạn."))
    overview = templates.overview(runtime(), key)
    settings = variants.local_settings(runtime(), key, unit)
    problems, status = [], 200
    if request.method == "POST":
        roles, budgets, skip = _posted(settings)
        try:
            variants.set_overrides(runtime(), key, unit, roles=roles, budgets=budgets, skip=skip)
        except variants.OverrideError as refused:
            problems, status = [localised(p) for p in refused.problems], 422
        else:
            flash(
                gettext(
                    "Đã lưu khác biệt của %(unit)s; hồ sơ tiếp nhận từ nay theo cấu hình này.", unit=settings.unit_name
                ),
                "ok",
            )
            return redirect(url_for("model.local_differences", key=key))
        settings = _as_posted(settings, roles, budgets, skip)
    return render_template(
        "model/local_settings.html", overview=overview, settings=settings, problems=problems, role_label=role_label
    ), status


def _communes() -> dict[str, str]:
    return {c.code: c.name for c in templates.communes_for(runtime(), current_user.unit_code)}


def _posted(settings: variants.LocalSettings) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Only what differs from the template: an empty role holder means the role's pool, an empty
    budget the template's own; ticked optional steps are skipped."""
    form = request.form
    roles = {role: form.get(f"role-{role}", "").strip() for role in settings.candidates}
    budgets = {step.element_id: form.get(f"budget-{step.element_id}", "").strip() for step in settings.steps}
    skip = [step.element_id for step in settings.steps if form.get(f"skip-{step.element_id}")]
    return (
        {r: u for r, u in roles.items() if u},
        {s: b for s, b in budgets.items() if b and b != _template_budget(settings, s)},
        skip,
    )


def _template_budget(settings: variants.LocalSettings, element_id: str) -> str | None:
    return next((s.budget for s in settings.steps if s.element_id == element_id), None)


def _as_posted(settings: variants.LocalSettings, roles: dict, budgets: dict, skip: list) -> variants.LocalSettings:
    """The form as the modeller filled it, to correct after a refusal."""
    steps = [
        replace(step, override=budgets.get(step.element_id), skipped=step.element_id in skip) for step in settings.steps
    ]
    return replace(settings, holders=roles, steps=steps)
