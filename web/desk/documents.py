"""A dossier's files on the desk: adding one on the dossier's or a step's page, opening one by its
random key (only for those who may see the dossier; another unit's file is not found), and the
dossier's archive (ZIP with a manifest) for the records office."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from engine.domain.attachments import Upload
from engine.domain.attachments import kind_of
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.services import attachments
from web.desk import bp
from web.desk.common import visible_dossier
from web.desk.work_items import render_page
from web.refusals import localised
from web.security import clerk_required
from web.wiring import runtime


@bp.post("/ho-so/<int:dossier_id>/tai-lieu")
@clerk_required
def attach(dossier_id: int):
    """Attach a file (a processing record, the result) from the dossier's or a step's page."""
    item_id = request.form.get("item_id", type=int)
    page = {"item_id": item_id} if item_id else {"dossier_id": dossier_id}
    with runtime().db.read_session() as s:
        visible_dossier(s, dossier_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(page, gettext("Chọn tệp cần đính kèm."))
    try:
        attachments.attach(
            runtime(),
            dossier_id,
            current_user.actor(),
            Upload(upload.filename, upload.mimetype or "", upload.read()),
            kind_of(request.form.get("kind")),
            work_item_id=item_id,
        )
    except EngineError as error:
        return _refused(page, localised(error))
    flash(gettext("Đã đính kèm tệp %(name)s.", name=upload.filename), "success")
    return redirect(
        url_for("desk.work_item", item_id=item_id) if item_id else url_for("desk.dossier", dossier_id=dossier_id)
    )


@bp.get("/tai-lieu/<key>")
@clerk_required
def document(key: str):
    """The file itself, inline for PDF and images (a browser shows them), never sniffed."""
    try:
        row = attachments.find(runtime(), key)
    except NotFound:
        abort(404, description=gettext("Không tìm thấy tệp này."))
    with runtime().db.read_session() as s:
        visible_dossier(s, row.dossier_id)  # another unit's file: not found, as an unknown one
    try:
        data = attachments.content(runtime(), row)
    except EngineError as error:
        abort(409, description=localised(error))
    disposition = "attachment" if request.args.get("tai") else "inline"
    # Only checked PDF, PNG and JPEG are ever stored and nosniff keeps them so; no CSP sandbox,
    # which would stop the browser's own PDF viewer.
    return Response(
        data,
        mimetype=row.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/ho-so/<int:dossier_id>/luu-tru.zip")
@clerk_required
def archive(dossier_id: int):
    """The dossier as one archive: its files and a manifest (who attached what, when, SHA-256, its data)."""
    with runtime().db.read_session() as s:
        visible_dossier(s, dossier_id)
    try:
        name, data = attachments.archive(runtime(), dossier_id)
    except EngineError as error:
        abort(409, description=localised(error))
    return Response(
        data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


def _refused(page: dict, message: str):
    return render_page(**page, errors={"attach": message}, status=422)
