"""The catalogue on the web: a modeller creates, edits, retires and restores procedures of the
catalogue, and reads each entry's history."""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import catalogue
from configurator import catalogue_edits
from configurator.catalogue import CatalogueError
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from web.model import bp
from web.model.catalogue_form import CatalogueForm
from web.model.catalogue_form import entry_of
from web.model.catalogue_form import form_for
from web.model.catalogue_form import place_errors
from web.model.catalogue_form import read_form
from web.model.labels import CATALOGUE_FIELDS
from web.model.labels import CHANGE_ACTIONS
from web.model.labels import LEVELS
from web.model.labels import ONLINE_LEVELS
from web.model.labels import describe_change
from web.refusals import localised
from web.security import modeller_required
from web.wiring import runtime


@bp.route("/danh-muc/moi", methods=["GET", "POST"])
@modeller_required
def new_entry():
    if request.method == "GET":
        return _form_page(form_for(None), None)
    form = read_form(request.form)
    try:
        key = catalogue_edits.create(runtime(), entry_of(form), current_user.username)
    except CatalogueError as refused:
        place_errors(form, refused.problems, localised)
        return _form_page(form, None, status=422)
    flash(gettext("Đã thêm thủ tục vào danh mục. Hãy lập bảng bước để tạo mẫu quy trình."), "ok")
    return redirect(url_for("model.entry", key=key))


@bp.route("/danh-muc/<key>", methods=["GET", "POST"])
@modeller_required
def entry(key: str):
    current = _entry_or_404(key)
    if request.method == "GET":
        return _form_page(form_for(current), current)
    form = read_form(request.form)
    try:
        changes = catalogue_edits.update(runtime(), key, entry_of(form), current_user.username)
    except CatalogueError as refused:
        place_errors(form, refused.problems, localised)
        return _form_page(form, current, status=422)
    flash(gettext("Đã lưu %(n)s thay đổi.", n=len(changes)) if changes else gettext("Không có gì thay đổi."), "ok")
    return redirect(url_for("model.entry", key=key))


@bp.post("/danh-muc/<key>/ngung-ap-dung")
@modeller_required
def retire_entry(key: str):
    return _retire_or_restore(
        key, catalogue_edits.retire, gettext("Thủ tục đã ngừng áp dụng: vẫn xem được, không lập mẫu quy trình mới.")
    )


@bp.post("/danh-muc/<key>/ap-dung-lai")
@modeller_required
def restore_entry(key: str):
    return _retire_or_restore(key, catalogue_edits.restore, gettext("Thủ tục được áp dụng lại."))


def _retire_or_restore(key: str, action, done: str):
    _entry_or_404(key)
    try:
        action(runtime(), key, current_user.username)
    except EngineError as exc:
        flash(localised(exc), "error")
    else:
        flash(done, "ok")
    return redirect(url_for("model.entry", key=key))


def _entry_or_404(key: str) -> catalogue.CatalogueEntry:
    try:
        return catalogue.get(runtime(), key)
    except NotFound:
        abort(404)


def _form_page(form: CatalogueForm, current: catalogue.CatalogueEntry | None, status: int = 200):
    history = catalogue_edits.history(runtime(), current.key) if current else []
    return render_template(
        "model/catalogue_entry.html",
        form=form,
        current=current,
        levels=LEVELS,
        online_levels=ONLINE_LEVELS,
        history=history,
        actions=CHANGE_ACTIONS,
        field_labels=CATALOGUE_FIELDS,
        describe_change=describe_change,
    ), status
