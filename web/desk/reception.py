"""Reception (tiếp nhận) in one pass: the one-stop officer receives a dossier for their commune or,
under Decree 118, for another commune of the province, with the catalogue's checklist (each item
received on paper and/or digitised, its scans attached), the channel and the fees; saving issues the
code and appointment and completes the reception step in one transaction, then prints the receipt
(form 01), the supplement request (form 02) or the refusal (form 03), as the officer decided."""

from __future__ import annotations

import re
from datetime import datetime

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import steps
from configurator.forms import FormError
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.domain.errors import EngineError
from engine.domain.model import Channel
from engine.services import stored_files
from engine.services.citizen_channels import CHANNEL_ADDRESS
from engine.services.payments import Payment
from engine.store import catalogue_records
from engine.store import queries
from web.desk import bp
from web.desk import citizen_data
from web.desk.common import local_input
from web.desk.common import parse_local_datetime
from web.desk.common import refusal_text
from web.desk.step_form import field_errors
from web.display import CHANNEL_LABELS
from web.refusals import localised
from web.security import roles_required
from web.wiring import runtime

reception_required = roles_required(lambda u: u.is_clerk and "mot_cua" in u.roles)
APPLICANT_FIELDS = ("id_number", "phone", "address", "email")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PAYMENT_METHODS = ("cash", "bank", "portal")
ID_NUMBER = re.compile(r"^[0-9]{9,12}$")
PHONE = re.compile(r"^[0-9+ ]{8,15}$")
#: The officer's decision on the checked dossier (the reception form's `ket_qua`); each prints the
#: paper of the same name (receipt, form 02, form 03).
DECISIONS = ("tiep_nhan", "bo_sung", "tu_choi")
DECISION_TEXT_FIELDS = ("noi_dung_bo_sung", "ly_do_tu_choi")
#: How the library's reception form names each channel (its `hinh_thuc_nop`).
SUBMISSION_METHOD = {
    Channel.COUNTER.value: "truc_tiep",
    Channel.ONLINE.value: "truc_tuyen",
    Channel.POST.value: "buu_chinh",
}
#: The payment's fields as this page names them.
PAYMENT_FIELD = {"amount_vnd": "fee_vnd", "method": "payment_method", "reference": "payment_reference"}
#: The reception form's fields that this page asks under another name.
PAGE_FIELD = {
    "nguoi_nop": "applicant_name",
    "so_giay_to_tuy_than": "id_number",
    "so_dien_thoai": "phone",
    "hinh_thuc_nop": "channel",
    "thoi_diem_tiep_nhan": "received_at",
}


@bp.get("/tiep-nhan")
@reception_required
def reception():
    return _form(
        values={
            "unit_code": current_user.unit_code,
            "channel": Channel.COUNTER.value,
            "received_at": local_input(runtime().clock.now()),
            "ket_qua": "tiep_nhan",
        },
        errors={},
    )


@bp.get("/tiep-nhan/thu-tuc")
@reception_required
def reception_catalogue():
    """The chosen procedure's checklist, fees and legal limit (htmx swaps it in on change)."""
    chosen = request.args.get("definition_id")
    with runtime().db.read_session() as s:
        entry = _entry_for(s, chosen)
    held = citizen_data.store_matches(entry, (request.args.get("id_number") or "").strip())
    return render_template("desk/_catalogue.html", entry=entry, ticked=set(), chosen=bool(chosen), held=held)


@bp.post("/tiep-nhan")
@reception_required
def receive():
    values = {
        name: (request.form.get(name) or "").strip()
        for name in (
            "definition_id",
            "applicant_name",
            "unit_code",
            "received_at",
            "channel",
            "fee_vnd",
            "ket_qua",
            "payment_method",
            "payment_reference",
            *DECISION_TEXT_FIELDS,
            *APPLICANT_FIELDS,
        )
    }
    values["notify"] = [c for c in request.form.getlist("notify") if c in CHANNEL_ADDRESS]
    with runtime().db.read_session() as s:
        definitions = {str(d.id): d for d in queries.newest_published_per_template(s)}
        communes = {u.code for u in queries.province_communes(s, current_user.unit_code)}
        entry = _entry_for(s, values["definition_id"])
    definition = definitions.get(values["definition_id"])
    errors, received_at = _problems(values, definition, communes)
    paper = set(request.form.getlist("documents"))
    files, file_errors = _checklist_files(entry)
    errors.update(file_errors)
    reused = citizen_data.reused_from_form(request.form, entry)
    fee_lines, fee_errors = _fee_lines(entry)
    errors.update(fee_errors)
    values["fee_cases"] = set(request.form.getlist("fee_case"))
    if errors:
        return _form(values, errors, entry=entry, ticked=paper, reattach=bool(files or file_errors)), 422
    try:
        dossier, _ = steps.receive_dossier(
            runtime(),
            definition_id=definition.id,
            unit_code=values["unit_code"],
            applicant_name=values["applicant_name"],
            applicant=_applicant(values, entry, paper, files, fee_lines, reused),
            received_at=received_at,
            channel=values["channel"],
            actor=current_user.actor(),
            files=files,
            reception=_reception_data(values, received_at),
            reused=reused,
            payment=_payment(values),
        )
    except FormError as error:
        errors.update(_at_page_fields(field_errors(error.errors)))
    except EngineError as error:
        field = PAYMENT_FIELD.get(error.field) or PAGE_FIELD.get(error.field, error.field)
        errors[field if field in values else "form"] = localised(error) if field in values else refusal_text(error)
    if errors:
        return _form(values, errors, entry=entry, ticked=paper, reattach=bool(files)), 422
    flash(_done_message(values["ket_qua"], dossier.code), "success")
    return redirect(url_for("desk.print", dossier_id=dossier.id, kind=values["ket_qua"]))


def _problems(values: dict, definition, communes: set[str]) -> tuple[dict[str, str], datetime | None]:
    """What is wrong with the page's own fields (the reception step's form checks the rest), and
    the reception time. Fills in the preselected channel and decision when none was sent."""
    errors, now = {}, runtime().clock.now()
    if definition is None:
        errors["definition_id"] = gettext("Chọn thủ tục hành chính.")
    if not values["applicant_name"]:
        errors["applicant_name"] = gettext("Nhập họ tên người nộp hồ sơ.")
    errors.update(_applicant_problems(values))
    if values["unit_code"] not in communes:
        errors["unit_code"] = gettext("Chọn một xã, phường của tỉnh, thành phố.")
    values["channel"] = values["channel"] or Channel.COUNTER.value
    if values["channel"] not in CHANNEL_LABELS:
        errors["channel"] = gettext("Chọn kênh tiếp nhận: trực tiếp, trực tuyến hoặc bưu chính.")
    values["ket_qua"] = values["ket_qua"] or "tiep_nhan"
    if values["ket_qua"] not in DECISIONS:
        errors["ket_qua"] = gettext("Chọn: tiếp nhận, yêu cầu bổ sung hoặc từ chối tiếp nhận.")
    if values["fee_vnd"] and not values["fee_vnd"].isdigit():
        errors["fee_vnd"] = gettext("Số tiền phí, lệ phí là số đồng, không có dấu chấm.")
    received_at = parse_local_datetime(values["received_at"]) if values["received_at"] else now
    if received_at is None:
        errors["received_at"] = gettext("Thời điểm tiếp nhận không hợp lệ.")
    elif received_at > now:
        errors["received_at"] = gettext("Thời điểm tiếp nhận không được ở tương lai.")
    return errors, received_at


def _applicant(
    values: dict,
    entry,
    paper: set[str],
    files: list[stored_files.Staged],
    fee_lines: list[dict],
    reused: dict[int, int] | None = None,
) -> dict:
    """What the dossier keeps about its applicant and its receipt (the slips print it): also the
    channels they accept to be told on, and the fee cases that apply."""
    applicant = {
        "name": values["applicant_name"],
        **{k: values[k] for k in APPLICANT_FIELDS if values[k]},
        "documents": _checklist(entry, paper, files, set(reused or ())),
        "received_by": current_user.username,
        "received_by_name": current_user.full_name,
        "received_unit": current_user.unit_code,
    }
    if values["fee_vnd"]:
        applicant["fee_vnd"] = int(values["fee_vnd"])
    if values["notify"]:
        applicant["notify"] = values["notify"]
    if fee_lines:
        applicant["fees"] = fee_lines
    return applicant


def _payment(values: dict) -> Payment | None:
    """What was paid at the counter (or by a reference given there), if anything."""
    if not values["fee_vnd"] or not int(values["fee_vnd"]):
        return None
    return Payment(int(values["fee_vnd"]), values["payment_method"] or "cash", values["payment_reference"] or None)


def _fee_lines(entry) -> tuple[list[dict], dict[str, str]]:
    """The catalogue's fee cases the officer ticked, each with its amount (typed where the catalogue
    leaves the amount to the province)."""
    picked = set(request.form.getlist("fee_case"))
    lines, errors = [], {}
    for index, fee in enumerate(entry.fees if entry is not None else []):
        if str(index) not in picked:
            continue
        amount = fee.get("amount_vnd")
        if amount is None:
            typed = (request.form.get(f"fee_amount_{index}") or "").strip().replace(".", "")
            if not typed.isdigit() or len(typed) > 12:
                errors[f"fee_amount_{index}"] = gettext(
                    "Nhập số tiền của khoản «%(name)s» (đồng).", name=fee.get("name")
                )
                continue
            amount = int(typed)
        lines.append({"name": fee.get("name"), "amount_vnd": amount})
    return lines, errors


def _done_message(decision: str, code: str) -> str:
    if decision == "bo_sung":
        return gettext("Đã lập phiếu yêu cầu bổ sung cho hồ sơ %(code)s.", code=code)
    if decision == "tu_choi":
        return gettext("Đã lập phiếu từ chối tiếp nhận hồ sơ %(code)s.", code=code)
    return gettext("Đã tiếp nhận hồ sơ %(code)s.", code=code)


def _reception_data(values: dict, received_at) -> dict:
    """The reception step's form data from what the page asked (its form names them otherwise)."""
    data = {
        "nguoi_nop": values["applicant_name"],
        "so_giay_to_tuy_than": values["id_number"],
        "so_dien_thoai": values["phone"],
        "hinh_thuc_nop": SUBMISSION_METHOD[values["channel"]],
        "thoi_diem_tiep_nhan": local_input(received_at),
        "ket_qua": values["ket_qua"],
        "ho_so_day_du": values["ket_qua"] == "tiep_nhan",
        **{name: values[name] for name in DECISION_TEXT_FIELDS},
    }
    return {name: value for name, value in data.items() if value not in ("", None)}


def _at_page_fields(errors: dict[str, str]) -> dict[str, str]:
    """The reception form's field errors beside this page's fields; the rest above the form."""
    placed = {}
    for name, message in errors.items():
        field = PAGE_FIELD.get(name, name)
        if field in ("ket_qua", *DECISION_TEXT_FIELDS, *PAGE_FIELD.values()):
            placed[field] = message
        else:
            placed["form"] = gettext(
                "Biểu mẫu tiếp nhận của thủ tục: %(field)s: %(message)s", field=name, message=message
            )
    return placed


def _checklist_files(entry) -> tuple[list[stored_files.Staged], dict[str, str]]:
    """The scans attached to each checklist item (file_<n>), checked; errors name the item's field."""
    staged, errors = [], {}
    count = len(entry.required_documents or []) if entry is not None else 0
    for index in range(count):
        for upload in request.files.getlist(f"file_{index}"):
            if not upload or not upload.filename:
                continue
            try:
                staged.append(
                    stored_files.stage(
                        Upload(upload.filename, upload.mimetype or "", upload.read()),
                        AttachmentKind.RECEPTION,
                        checklist_index=index,
                        field=f"file_{index}",
                    )
                )
            except EngineError as error:
                errors[f"file_{index}"] = localised(error)
    return staged, errors


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
    if values["email"] and not EMAIL.match(values["email"]):
        problems["email"] = gettext("Địa chỉ thư điện tử không hợp lệ.")
    for channel in values.get("notify") or ():
        if not values[CHANNEL_ADDRESS[channel]]:
            problems["notify"] = gettext(
                "Nhận thông báo qua SMS hoặc Zalo cần số điện thoại, qua thư điện tử cần địa chỉ thư điện tử."
            )
    if values.get("payment_method") and values["payment_method"] not in PAYMENT_METHODS:
        problems["payment_method"] = gettext("Chọn hình thức nộp: tiền mặt, chuyển khoản hoặc qua cổng dịch vụ công.")
    return problems


def _form(values: dict, errors: dict, entry=None, ticked: set | None = None, reattach: bool = False):
    with runtime().db.read_session() as s:
        definitions = queries.newest_published_per_template(s)
        communes = queries.province_communes(s, current_user.unit_code)
    held = citizen_data.store_matches(entry, values.get("id_number") or "")
    return render_template(
        "desk/reception.html",
        definitions=definitions,
        communes=communes,
        values=values,
        errors=errors,
        entry=entry,
        ticked=ticked or set(),
        channels=CHANNEL_LABELS,
        reattach=reattach,
        chosen=bool(values.get("definition_id")),
        held=held,
    )


def _entry_for(session, definition_id: str | None):
    """The catalogue entry of a published definition chosen on the form, if both exist."""
    if not (definition_id or "").isdigit():
        return None
    definition = next((d for d in queries.newest_published_per_template(session) if d.id == int(definition_id)), None)
    return catalogue_records.procedure_by_key(session, definition.key) if definition else None


def _checklist(entry, paper: set[str], files: list[stored_files.Staged], reused: set[int] = frozenset()) -> list[dict]:
    """The catalogue's documents received: on paper (ticked), digitised (scans attached) and/or
    taken from the citizen's data store (not asked for again)."""
    if entry is None:
        return []
    scanned = {f.checklist_index for f in files}
    return [
        {
            "index": index,
            "name": doc.get("name"),
            "copies": doc.get("copies"),
            "original": doc.get("original"),
            "paper": str(index) in paper,
            "digitised": index in scanned or index in reused,
            **({"from_store": True} if index in reused else {}),
        }
        for index, doc in enumerate(entry.required_documents or [])
        if str(index) in paper or index in scanned or index in reused
    ]
