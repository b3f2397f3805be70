"""Moving running dossiers to a newer version of their template: which dossiers of the
modeller's province run an older version, whether each may move now (and why not, naming the
steps), and moving every one that may."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import templates
from configurator import versions
from web.display import STATUS_LABELS_VI
from web.guards import db_int
from web.model import bp
from web.security import modeller_required
from web.wiring import runtime


@bp.route("/<key>/chuyen-phien-ban", methods=["GET", "POST"])
@modeller_required
def migrate(key: str):
    overview = templates.overview(runtime(), key)
    published = overview.published
    source = request.values.get("tu", type=db_int)
    target = request.values.get("den", type=db_int) or (published[-1] if published else None)
    if source is None:
        source = next((v for v in reversed(published) if v != target), None)
    error = _choice_error(published, source, target)
    plan = None
    if error is None:
        units = [c.code for c in templates.communes_for(runtime(), current_user.unit_code)]
        after = request.values.get("sau", type=db_int, default=0)  # the next batch, after this dossier id
        plan = versions.migration_plan(runtime(), key, source, target, units, after)
        if request.method == "POST":
            moved, refused = versions.migrate_movable(runtime(), plan, current_user.actor())
            flash(
                gettext(
                    "Đã chuyển %(moved)s hồ sơ sang phiên bản %(version)s; %(refused)s hồ sơ không chuyển được "
                    "vì vừa thay đổi.",
                    moved=moved,
                    version=target,
                    refused=refused,
                ),
                "ok",
            )
            return redirect(url_for("model.migrate", key=key, tu=source, den=target))
    more = plan is not None and len(plan.candidates) == versions.MIGRATION_BATCH
    return render_template(
        "model/migrate.html",
        overview=overview,
        published=published,
        source=source,
        target=target,
        plan=plan,
        error=error,
        more=more,
        status_labels=STATUS_LABELS_VI,
    ), (400 if error and request.values.get("tu") else 200)


def _choice_error(published: list[int], source: int | None, target: int | None) -> str | None:
    if len(published) < 2:
        return gettext("Mẫu quy trình chưa có hai phiên bản đã công bố: không có gì để chuyển.")
    if source not in published or target not in published:
        return gettext("Chỉ chuyển được giữa hai phiên bản đã công bố của mẫu quy trình này.")
    if source == target:
        return gettext("Hãy chọn hai phiên bản khác nhau.")
    return None
