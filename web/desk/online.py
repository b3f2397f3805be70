"""The online queue (hồ sơ trực tuyến): dossiers citizens submitted on the National Public Service
Portal wait here at their commune's one-stop desk (status 1). The officer opens the attachments and
accepts (the receipt in one pass: code, appointment, status 2, the attachments become the dossier's
reception files), refuses with a reason (3) or asks for a supplement (5); the portal hears each."""

from __future__ import annotations

import base64
from urllib.parse import quote

from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import steps
from configurator.forms import FormError
from engine.domain.errors import EngineError
from engine.domain.model import Channel
from engine.services import online_intake
from web.desk import bp
from web.desk.common import local_input
from web.desk.common import refusal_text
from web.refusals import localised
from web.security import roles_required
from web.wiring import runtime

desk_required = roles_required(lambda u: u.is_clerk and "mot_cua" in u.roles)


@bp.get("/truc-tuyen")
@desk_required
def online():
    lines = online_intake.desk_queue(runtime(), current_user.unit_code)
    return render_template("desk/online.html", lines=lines)


@bp.get("/truc-tuyen/<int:submission_id>/tep/<int:index>")
@desk_required
def online_file(submission_id: int, index: int):
    row = _waiting(submission_id)
    files = row.attachments or []
    if index >= len(files):
        abort(404)
    item = files[index]
    return Response(
        base64.b64decode(item["content"]),
        mimetype=item["content_type"],
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(item['name'])}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.post("/truc-tuyen/<int:submission_id>/tiep-nhan")
@desk_required
def accept_online(submission_id: int):
    rt, actor = runtime(), current_user.actor()
    row = _waiting(submission_id)
    line = next((x for x in online_intake.desk_queue(rt, row.unit_code) if x.submission.id == row.id), None)
    if line is None or line.definition_id is None:
        flash(gettext("Thủ tục %(code)s chưa có quy trình được ban hành.", code=row.procedure_code), "error")
        return redirect(url_for("desk.online"))
    now = rt.clock.now()
    # The slip lists what came: each file submitted online, digitised and without paper.
    documents = [
        {"index": index, "name": f["name"], "copies": 1, "original": False, "paper": False, "digitised": True}
        for index, f in enumerate(row.attachments or [])
    ]
    applicant = {
        **row.applicant,
        "documents": documents,
        "received_by": current_user.username,
        "received_by_name": current_user.full_name,
        "received_unit": current_user.unit_code,
    }
    reception = {
        k: v
        for k, v in {
            "nguoi_nop": row.applicant_name,
            "so_giay_to_tuy_than": row.applicant.get("id_number"),
            "so_dien_thoai": row.applicant.get("phone"),
            "hinh_thuc_nop": "truc_tuyen",
            "thoi_diem_tiep_nhan": local_input(now),
            "ket_qua": "tiep_nhan",
            "ho_so_day_du": True,
        }.items()
        if v
    }
    try:
        dossier, _ = steps.receive_dossier(
            rt,
            definition_id=line.definition_id,
            unit_code=row.unit_code,
            applicant_name=row.applicant_name,
            applicant=applicant,
            channel=Channel.ONLINE.value,
            actor=actor,
            reception=reception,
            files=online_intake.staged_files(row),
            within_change=online_intake.accepting(row.id, actor),
        )
    except FormError as error:
        problems = "; ".join(f"{name}: {', '.join(texts)}" for name, texts in error.errors.items())
        flash(
            gettext("Chưa tiếp nhận được hồ sơ %(code)s: %(problems)s", code=row.portal_code, problems=problems),
            "error",
        )
        return redirect(url_for("desk.online"))
    except EngineError as error:
        flash(refusal_text(error), "error")
        return redirect(url_for("desk.online"))
    flash(
        gettext(
            "Đã tiếp nhận hồ sơ trực tuyến %(portal)s: mã hồ sơ %(code)s.", portal=row.portal_code, code=dossier.code
        ),
        "success",
    )
    return redirect(url_for("desk.print", dossier_id=dossier.id, kind="tiep_nhan"))


@bp.post("/truc-tuyen/<int:submission_id>/tu-choi")
@desk_required
def refuse_online(submission_id: int):
    return _decide(
        submission_id,
        online_intake.refuse,
        gettext("Đã từ chối tiếp nhận hồ sơ trực tuyến %(code)s; Cổng DVC sẽ được báo."),
    )


@bp.post("/truc-tuyen/<int:submission_id>/bo-sung")
@desk_required
def supplement_online(submission_id: int):
    return _decide(
        submission_id,
        online_intake.ask_supplement,
        gettext("Đã yêu cầu bổ sung hồ sơ trực tuyến %(code)s; Cổng DVC sẽ được báo."),
    )


def _decide(submission_id: int, action, done: str):
    _waiting(submission_id)  # another commune's dossier is not found here, as in the queue
    try:
        row = action(runtime(), submission_id, current_user.actor(), request.form.get("reason", ""))
    except EngineError as error:
        flash(localised(error), "error")
        return redirect(url_for("desk.online"))
    flash(done % {"code": row.portal_code}, "success")
    return redirect(url_for("desk.online"))


def _waiting(submission_id: int):
    try:
        return online_intake.waiting(runtime(), submission_id, current_user.actor())
    except EngineError:
        abort(404)
