"""Reception (tiếp nhận): the one-stop officer receives a dossier for their commune or, under
Decree 118, for another commune of the province, then prints the receipt and appointment slip."""

from __future__ import annotations

import re

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from engine.domain.errors import EngineError
from engine.domain.model import Channel
from engine.services import dossiers
from engine.store import inbox_queries
from engine.store import queries
from web.desk import bp
from web.display import CHANNEL_LABELS
from web.desk.common import local_input
from web.desk.common import parse_local_datetime
from web.desk.common import refusal_text
from web.security import roles_required
from web.wiring import runtime

reception_required = roles_required(lambda u: u.is_clerk and "mot_cua" in u.roles)
APPLICANT_FIELDS = ("id_number", "phone", "address")
ID_NUMBER = re.compile(r"^[0-9]{9,12}$")
PHONE = re.compile(r"^[0-9+ ]{8,15}$")


@bp.get("/tiep-nhan")
@reception_required
def reception():
    return _form(values={"unit_code": current_user.unit_code, "channel": Channel.COUNTER.value,
                         "received_at": local_input(runtime().clock.now())}, errors={})


@bp.get("/tiep-nhan/thu-tuc")
@reception_required
def reception_catalogue():
    """The chosen procedure's checklist, fees and legal limit (htmx swaps it in on change)."""
    chosen = request.args.get("definition_id")
    with runtime().db.read_session() as s:
        entry = _entry_for(s, chosen)
    return render_template("desk/_catalogue.html", entry=entry, ticked=set(), chosen=bool(chosen))


@bp.post("/tiep-nhan")
@reception_required
def receive():
    form = request.form
    values = {name: (form.get(name) or "").strip() for name in
              ("definition_id", "applicant_name", "unit_code", "received_at", "channel", *APPLICANT_FIELDS)}
    errors, now = {}, runtime().clock.now()
    with runtime().db.read_session() as s:
        definitions = {str(d.id): d for d in queries.newest_published_per_template(s)}
        communes = {u.code for u in inbox_queries.province_communes(s, current_user.unit_code)}
        entry = _entry_for(s, values["definition_id"])
    definition = definitions.get(values["definition_id"])
    if definition is None:
        errors["definition_id"] = gettext("Chọn thủ tục hành chính.")
    if not values["applicant_name"]:
        errors["applicant_name"] = gettext("Nhập họ tên người nộp hồ sơ.")
    errors.update(_applicant_problems(values))
    if values["unit_code"] not in communes:
        errors["unit_code"] = gettext("Chọn một xã, phường của tỉnh, thành phố.")
    values["channel"] = values["channel"] or Channel.COUNTER.value  # the form's preselected choice
    if values["channel"] not in CHANNEL_LABELS:
        errors["channel"] = gettext("Chọn kênh tiếp nhận: trực tiếp, trực tuyến hoặc bưu chính.")
    received_at = parse_local_datetime(values["received_at"]) if values["received_at"] else now
    if received_at is None:
        errors["received_at"] = gettext("Thời điểm tiếp nhận không hợp lệ.")
    elif received_at > now:
        errors["received_at"] = gettext("Thời điểm tiếp nhận không được ở tương lai.")
    documents = _ticked_documents(entry, form.getlist("documents"))
    if errors:
        return _form(values, errors, entry=entry, ticked=set(form.getlist("documents"))), 422
    applicant = {"name": values["applicant_name"], **{k: values[k] for k in APPLICANT_FIELDS if values[k]},
                 "documents": documents, "received_by": current_user.username,
                 "received_by_name": current_user.full_name, "received_unit": current_user.unit_code}
    try:
        dossier = dossiers.start_dossier(
            runtime(), definition_id=definition.id, unit_code=values["unit_code"],
            applicant_name=values["applicant_name"], applicant=applicant, received_at=received_at,
            channel=values["channel"], actor=current_user.actor())
    except EngineError as error:
        errors[error.field or "form"] = refusal_text(error)
        return _form(values, errors, entry=entry, ticked=set(form.getlist("documents"))), 422
    flash(gettext("Đã tiếp nhận hồ sơ %(code)s.", code=dossier.code), "success")
    return redirect(url_for("desk.print", dossier_id=dossier.id, kind="tiep_nhan"))


def _applicant_problems(values: dict) -> dict[str, str]:
    """The same rules the API applies to an applicant (web.api.schemas.ApplicantSchema)."""
    problems = {}
    if values["applicant_name"] and not 2 <= len(values["applicant_name"]) <= 200:
        problems["applicant_name"] = gettext("Họ tên dài từ 2 đến 200 ký tự.")
    if values["id_number"] and not ID_NUMBER.match(values["id_number"]):
        problems["id_number"] = gettext("Số định danh cá nhân / CCCD gồm 9 đến 12 chữ số.")
    if values["phone"] and not PHONE.match(values["phone"]):
        problems["phone"] = gettext("Số điện thoại gồm 8 đến 15 chữ số.")
    if len(values["address"]) > 500:
        problems["address"] = gettext("Địa chỉ tối đa 500 ký tự.")
    return problems


def _form(values: dict, errors: dict, entry=None, ticked: set | None = None):
    with runtime().db.read_session() as s:
        definitions = queries.newest_published_per_template(s)
        communes = inbox_queries.province_communes(s, current_user.unit_code)
    return render_template("desk/reception.html", definitions=definitions, communes=communes, values=values,
                           errors=errors, entry=entry, ticked=ticked or set(), channels=CHANNEL_LABELS,
                           chosen=bool(values.get("definition_id")))


def _entry_for(session, definition_id: str | None):
    """The catalogue entry of a published definition chosen on the form, if both exist."""
    if not (definition_id or "").isdigit():
        return None
    definition = next((d for d in queries.newest_published_per_template(session) if d.id == int(definition_id)), None)
    return inbox_queries.catalogue_entry(session, definition.key) if definition else None


def _ticked_documents(entry, ticked: list[str]) -> list[dict]:
    """The catalogue's documents whose boxes were ticked, with their copies (as received)."""
    if entry is None:
        return []
    chosen = {int(i) for i in ticked if i.isdigit()}
    return [{"name": doc.get("name"), "copies": doc.get("copies"), "original": doc.get("original")}
            for index, doc in enumerate(entry.required_documents or []) if index in chosen]
