"""Dossiers: start one on a published template, read its status, its history, its data by step and
its files (list, upload, download, the archive), move its appointment with an apology letter, stop
it (the applicant's withdrawal included)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask import url_for

from engine.domain.attachments import Upload
from engine.domain.attachments import kind_of
from engine.services import attachments
from engine.services import dossier_record
from engine.services import dossiers as dossier_service
from engine.services import idempotency
from engine.store import dossier_queries
from engine.store import queries
from web.api import schemas
from web.api.base import WRITE_ERRORS
from web.api.base import ApiError
from web.api.base import answered_by_the_view
from web.api.base import api_blueprint
from web.api.base import api_user
from web.api.base import documented_errors
from web.api.idempotency import accepts_key
from web.api.idempotency import keyed_request
from web.api.idempotency import respond
from web.api.replies import dossier_reply
from web.api.views_data import dossier_payload
from web.api.views_data import history_payload
from web.wiring import runtime

blp = api_blueprint("api_dossiers", "/dossiers", "Hồ sơ: tiếp nhận, trạng thái, lịch sử, hẹn lại, dừng xử lý")


@blp.route("", methods=["POST"])
@blp.arguments(schemas.StartDossierSchema())
@answered_by_the_view(blp, 201, schemas.DossierSchema)
@documented_errors(blp, 401, 403, 409, token_only=True)
@accepts_key(blp)
def start_dossier(body: dict):
    """Receive a dossier: it gets its code, its appointment and its first step.

    Send an `Idempotency-Key` header (any text up to 200 characters, unique per dossier) to make
    a retry safe: when the answer to a start was lost, the same request with the same key answers
    with the dossier it started (header `Idempotent-Replayed: true`) instead of starting another."""
    rt, user = runtime(), api_user()
    if not user.may_see_unit(body["unit_code"]):
        raise ApiError(
            403, f"Tài khoản {user.username} không tiếp nhận hồ sơ cho đơn vị {body['unit_code']}.", field="unit_code"
        )
    received_at = body.get("received_at")
    if received_at is not None and received_at > rt.clock.now():
        raise ApiError(422, "Thời điểm tiếp nhận không được ở tương lai.", field="received_at")
    applicant = body["applicant"]

    def start(keep):
        return dossier_service.start_dossier(
            rt,
            definition_id=_definition_id(body),
            unit_code=body["unit_code"],
            applicant_name=applicant["name"],
            applicant=applicant,
            received_at=received_at,
            channel=body["channel"],
            actor=user.actor(),
            answer=keep(201, dossier_reply),
        )

    answer = idempotency.once(rt, keyed_request(body), start)
    return respond(answer, {"Location": url_for("api_dossiers.get_dossier", code=answer.body["code"])})


@blp.route("/<code>")
@blp.response(200, schemas.DossierSchema)
@documented_errors(blp, 401, 404)
def get_dossier(code: str):
    """Status, appointment (current and original), classification and the steps open now."""
    return dossier_payload(visible_dossier(code))


@blp.route("/<code>/history")
@blp.response(200, schemas.HistoryEventSchema(many=True))
@documented_errors(blp, 401, 404)
def get_history(code: str):
    """Every audit event of the dossier, oldest first: who did what, on whose behalf, at which step."""
    view = visible_dossier(code)
    with runtime().db.read_session() as s:
        return [history_payload(event) for event in dossier_queries.history_with_step_names(s, view.dossier.id)]


@blp.route("/<code>/data")
@blp.response(200, schemas.DataStepSchema(many=True))
@documented_errors(blp, 401, 404)
def get_data(code: str):
    """What every completed step entered, by step (the form's labels), latest entry first, with who,
    when and on whose behalf."""
    view = visible_dossier(code)
    return dossier_record.data_of(runtime(), view.dossier.id, view.definition.id).as_dict()


@blp.route("/<code>/attachments")
@blp.response(200, schemas.AttachmentSchema(many=True))
@documented_errors(blp, 401, 404)
def list_attachments(code: str):
    """The dossier's files in the order they came: name, kind, size, SHA-256, who and when."""
    view = visible_dossier(code)
    return _attachments_payload(code, view.dossier.id)


@blp.route("/<code>/attachments", methods=["POST"])
@blp.arguments(schemas.AttachmentUploadSchema(), location="form")
@blp.arguments(schemas.AttachmentFileSchema(), location="files")
@blp.response(201, schemas.AttachmentSchema)
@documented_errors(blp, 401, 403, 404, token_only=True)
def upload_attachment(form: dict, files: dict, code: str):
    """Attach a PDF, PNG or JPEG (at most 10 MB; its declared type must match its content; 422
    names `file`) as multipart/form-data with `kind` and, optionally, the step's `work_item_id` or,
    for the scan of a checklist item received online, its `checklist_index`."""
    view = visible_dossier(code)
    upload = files["file"]
    row = attachments.attach(
        runtime(),
        view.dossier.id,
        api_user().actor(),
        Upload(upload.filename or "", upload.mimetype or "", upload.read()),
        kind_of(form["kind"]),
        work_item_id=form.get("work_item_id"),
        checklist_index=form.get("checklist_index"),
    )
    return next(a for a in _attachments_payload(code, view.dossier.id) if a["key"] == row.key)


@blp.route("/<code>/attachments/<key>")
@documented_errors(blp, 401, 404)
@blp.doc(responses={"200": {"description": "Nội dung tệp", "content": {"application/octet-stream": {}}}})
def download_attachment(code: str, key: str):
    """The file's bytes (checked against its SHA-256 before they are sent)."""
    view = visible_dossier(code)
    row = next((r for r in attachments.files_of(runtime(), view.dossier.id) if r.key == key), None)
    if row is None:
        raise ApiError(404, "Không tìm thấy tệp này trong hồ sơ.")
    return Response(
        attachments.content(runtime(), row),
        mimetype=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@blp.route("/<code>/archive")
@documented_errors(blp, 401, 404)
@blp.doc(responses={"200": {"description": "ZIP: files/ và manifest.json", "content": {"application/zip": {}}}})
def get_archive(code: str):
    """The dossier as one archive for the records office: every file and manifest.json (the dossier,
    its data by step, each file's kind, size, SHA-256, who attached it and when)."""
    view = visible_dossier(code)
    name, data = attachments.archive(runtime(), view.dossier.id)
    return Response(
        data, mimetype="application/zip", headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    )


def _attachments_payload(code: str, dossier_id: int) -> list[dict]:
    with runtime().db.read_session() as s:
        steps = {w.id: w.element_id for w in dossier_queries.dossier_steps(s, dossier_id)}
    return [
        {
            "key": r.key,
            "name": r.name,
            "kind": r.kind,
            "content_type": r.content_type,
            "size": r.size,
            "sha256": r.sha256,
            "step": steps.get(r.work_item_id),
            "checklist_index": r.checklist_index,
            "uploaded_by": r.uploaded_by,
            "on_behalf_of": r.on_behalf_of,
            "uploaded_at": r.uploaded_at,
            "url": url_for("api_dossiers.download_attachment", code=code, key=r.key),
        }
        for r in attachments.files_of(runtime(), dossier_id)
    ]


@blp.route("/<code>/reappoint", methods=["POST"])
@blp.arguments(schemas.ReappointSchema())
@blp.response(200, schemas.DossierSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
def reappoint(body: dict, code: str):
    """The apology letter (Mẫu 04): a leader of the dossier's unit moves its appointment once, to a
    time ahead and after the original one, with the reason (422 names `new_appointment` or `reason`)."""
    view = visible_dossier(code)
    dossier_service.reappoint_dossier(
        runtime(), view.dossier.id, api_user().actor(), body["new_appointment"], body["reason"]
    )
    return dossier_payload(visible_dossier(code))


@blp.route("/<code>/stop", methods=["POST"])
@blp.arguments(schemas.StopSchema())
@blp.response(200, schemas.DossierSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
def stop(body: dict, code: str):
    """Stop the dossier with a stop notice, at the applicant's request (`withdrawn`) or by the unit;
    the one-stop desk or a leader of its unit, with the reason (422 names `reason`)."""
    view = visible_dossier(code)
    dossier_service.cancel_dossier(
        runtime(), view.dossier.id, api_user().actor(), body["reason"], withdrawn=body["withdrawn"]
    )
    return dossier_payload(visible_dossier(code))


def visible_dossier(code: str) -> dossier_queries.DossierView:
    """The dossier the caller may see (engine.domain.assignment.Actor.may_see_dossier); another
    unit's dossier gets the same answer as a code that does not exist."""
    with runtime().db.read_session() as s:
        view = dossier_queries.dossier_by_code(s, code)
    if view is None or not api_user().actor().may_see_dossier(view.dossier.unit_code, view.dossier.received_unit):
        raise ApiError(404, f"Không tìm thấy hồ sơ {code}.")
    return view


def _definition_id(body: dict) -> int:
    if "definition_id" in body:
        return body["definition_id"]
    with runtime().db.read_session() as s:
        definition = queries.latest_published(s, body["template_key"])
    if definition is None:
        raise ApiError(
            422, f"Quy trình {body['template_key']} chưa có phiên bản nào được ban hành.", field="template_key"
        )
    return definition.id
