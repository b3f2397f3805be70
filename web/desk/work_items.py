"""A step's page (and a dossier's page): the dossier, its data by step (what every earlier step
entered), its files, appointment, history and hand-overs, the step's form (prefilled with what was
last entered in it and what it carries forward), the proposal a decision rests on, and the actions. Each action is one engine call; a refusal comes
back on the page with what the clerk typed, and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from configurator import steps
from configurator.forms import FormError
from engine.domain.assignment import StepHolding
from engine.domain.assignment import offered_actions
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.domain.model import FINISHED_RUN_STATES
from engine.domain.model import OPEN_STATES
from engine.services import actions
from engine.services import attachments
from engine.services import dossier_papers
from engine.services import dossier_record
from engine.services import dossiers
from engine.services import supervision
from engine.store import dossier_queries
from engine.store import people_queries
from engine.store import worklist_queries
from web.desk import bp
from web.desk import citizen
from web.desk import step_form
from web.desk.common import may_see_dossier
from web.desk.common import parse_local_datetime
from web.desk.common import refusal_text
from web.desk.common import visible_dossier
from web.desk.common import visible_item
from web.desk.labels import ACTION_LABELS
from web.desk.labels import CLASSIFICATION_LABELS
from web.desk.labels import STATUS_LABELS_VI
from web.desk.labels import WORK_STATE_LABELS
from web.desk.labels import escalation_text
from web.desk.labels import role_label
from web.display import CHANNEL_LABELS
from web.guards import db_int
from web.refusals import localised
from web.security import clerk_required
from web.wiring import runtime

SYSTEM = "system"  # the actor the worker's and the engine's own events carry


@dataclass(frozen=True)
class ReturnNote:
    step: str
    actor: str
    at: datetime
    reason: str


# Step form fields filled from what reception recorded, so the clerk does not type them twice.
PREFILL_FROM_APPLICANT = {"nguoi_nop": "name", "so_giay_to_tuy_than": "id_number", "so_dien_thoai": "phone"}


@bp.get("/buoc/<int:item_id>")
@clerk_required
def work_item(item_id: int):
    return render_page(item_id=item_id)


@bp.get("/ho-so/<int:dossier_id>")
@clerk_required
def dossier(dossier_id: int):
    return render_page(dossier_id=dossier_id)


@bp.post("/buoc/<int:item_id>/hoan-thanh")
@clerk_required
def complete(item_id: int):
    """The step's form is read from the request inside the engine's one transaction (the step, its
    dossier and the form are looked up there once)."""
    version = request.form.get("version", "")
    try:
        steps.complete_step(
            runtime(),
            item_id,
            current_user.actor(),
            read_form=lambda form: step_form.submitted_values(form, request.form) if form else {},
            expected_version=int(version) if version.isdigit() else None,
            seen_by=current_user.may_see_unit,
        )
    except FormError as error:
        return render_page(
            item_id=item_id,
            field_errors=step_form.field_errors(error.errors),
            status=422,
            errors={"complete": gettext("Biểu mẫu chưa hợp lệ: xem các trường được đánh dấu.")},
        )
    except NotFound:
        abort(404, description=gettext("Không tìm thấy bước xử lý này trong đơn vị của bạn."))
    except EngineError as error:
        form = _form_of(item_id) if error.field else None  # read again only to place the message
        if form and error.field in form.get("properties", {}):  # e.g. a refusal without its reason
            return render_page(
                item_id=item_id,
                field_errors={error.field: localised(error)},
                status=422,
                errors={"complete": gettext("Biểu mẫu chưa hợp lệ: xem các trường được đánh dấu.")},
            )
        return render_page(item_id=item_id, errors={"complete": refusal_text(error)}, status=422)
    flash(gettext("Đã hoàn thành bước và chuyển hồ sơ sang bước tiếp theo."), "success")
    return redirect(url_for("desk.inbox"))


@bp.post("/buoc/<int:item_id>/tra-lai")
@clerk_required
def return_step(item_id: int):
    reason = request.form.get("reason") or ""
    return _act(
        item_id,
        "return",
        lambda actor: actions.return_to_previous(runtime(), item_id, actor, reason),
        gettext("Đã trả lại hồ sơ cho bước trước."),
        to_inbox=True,
        fields=("reason",),
    )


@bp.post("/buoc/<int:item_id>/uy-quyen")
@clerk_required
def delegate(item_id: int):
    to = (request.form.get("to_username") or "").strip()
    if not to:
        return render_page(item_id=item_id, errors={"delegate": gettext("Chọn người được ủy quyền.")}, status=422)
    note = (request.form.get("note") or "").strip() or None
    return _act(
        item_id,
        "delegate",
        lambda actor: actions.delegate_work_item(runtime(), item_id, actor, to, note),
        gettext("Đã ủy quyền cho %(name)s.", name=to),
    )


@bp.post("/buoc/<int:item_id>/chuyen-lai")
@clerk_required
def resolve(item_id: int):
    note = (request.form.get("note") or "").strip() or None
    return _act(
        item_id,
        "resolve",
        lambda actor: actions.resolve_work_item(runtime(), item_id, actor, note=note),
        gettext("Đã chuyển lại cho người ủy quyền."),
        to_inbox=True,
    )


@bp.post("/buoc/<int:item_id>/giao-lai")
@clerk_required
def reassign(item_id: int):
    target, reason = request.form.get("target") or "", (request.form.get("reason") or "").strip()
    if not target:
        return render_page(item_id=item_id, errors={"reassign": gettext("Chọn người hoặc nhóm nhận việc.")}, status=422)
    if not reason:
        return render_page(item_id=item_id, errors={"reassign": gettext("Nhập lý do giao lại.")}, status=422)
    with runtime().db.read_session() as s:
        role = visible_item(s, item_id).role
    to_user, to_role = (None, role) if target == "nhom" else (target, None)
    return _act(
        item_id,
        "reassign",
        lambda actor: actions.reassign_work_item(
            runtime(), item_id, actor, to_username=to_user, to_role=to_role, reason=reason
        ),
        gettext("Đã giao lại bước."),
    )


@bp.post("/ho-so/<int:dossier_id>/hen-lai")
@clerk_required
def reappoint(dossier_id: int):
    """The apology letter with a new appointment: a leader's decision, once per dossier."""
    item_id = request.form.get("item_id", type=db_int)
    page = {"item_id": item_id} if item_id else {"dossier_id": dossier_id}
    with runtime().db.read_session() as s:
        visible_dossier(s, dossier_id)
    new_at = parse_local_datetime(request.form.get("new_appointment"))
    if new_at is None:
        return render_page(
            **page, errors={"reappoint.new_appointment": gettext("Nhập ngày, giờ hẹn trả mới.")}, status=422
        )
    try:
        dossiers.reappoint_dossier(
            runtime(), dossier_id, current_user.actor(), new_at, request.form.get("reason") or ""
        )
    except PermissionDenied as exc:  # not a leader of the unit that decides on the dossier
        abort(403, description=refusal_text(exc))
    except EngineError as exc:
        return render_page(
            **page, errors=_refusal_at_field("reappoint", exc, ("new_appointment", "reason")), status=422
        )
    flash(gettext("Đã lập phiếu xin lỗi và hẹn lại ngày trả kết quả."), "success")
    return redirect(url_for("desk.print", dossier_id=dossier_id, kind="xin_loi"))


@bp.post("/ho-so/<int:dossier_id>/nop-phi")
@clerk_required
def record_payment(dossier_id: int):
    with runtime().db.read_session() as s:
        visible_dossier(s, dossier_id)
    errors = citizen.record_payment(dossier_id, request.form)
    if errors:
        return render_page(dossier_id=dossier_id, errors=errors, status=422)
    return redirect(url_for("desk.dossier", dossier_id=dossier_id) + "#phi-le-phi")


@bp.post("/ho-so/<int:dossier_id>/dung")
@clerk_required
def stop(dossier_id: int):
    """Stop a dossier with a stop notice: the applicant withdraws it, or the unit stops it."""
    item_id = request.form.get("item_id", type=db_int)
    page = {"item_id": item_id} if item_id else {"dossier_id": dossier_id}
    with runtime().db.read_session() as s:
        visible_dossier(s, dossier_id)
    kind = request.form.get("kind")
    if kind not in ("rut", "dung"):  # a destructive choice is never assumed
        return render_page(
            **page, errors={"stop.kind": gettext("Chọn công dân đề nghị rút hồ sơ hay dừng xử lý.")}, status=422
        )
    withdrawn = kind == "rut"
    try:
        dossiers.cancel_dossier(
            runtime(), dossier_id, current_user.actor(), request.form.get("reason") or "", withdrawn=withdrawn
        )
    except EngineError as exc:
        return render_page(**page, errors=_refusal_at_field("stop", exc, ("reason",)), status=422)
    flash(gettext("Đã dừng xử lý hồ sơ; in thông báo cho công dân."), "success")
    return redirect(url_for("desk.print", dossier_id=dossier_id, kind="dung"))


# -- helpers -------------------------------------------------------------------------------------


def _act(item_id: int, name: str, call, done: str, to_inbox: bool = False, fields: tuple[str, ...] = ()):
    with runtime().db.read_session() as s:
        visible_item(s, item_id)
    try:
        call(current_user.actor())
    except EngineError as error:
        return render_page(item_id=item_id, errors=_refusal_at_field(name, error, fields), status=422)
    flash(done, "success")
    return redirect(url_for("desk.inbox") if to_inbox else url_for("desk.work_item", item_id=item_id))


def _refusal_at_field(action: str, error: EngineError, fields: tuple[str, ...]) -> dict[str, str]:
    """The engine's refusal beside the field of the action's form it names ('stop.reason'), else
    above the form ('stop')."""
    if error.field in fields:
        return {f"{action}.{error.field}": localised(error)}
    return {action: refusal_text(error)}


def _form_of(item_id: int) -> dict | None:
    with runtime().db.read_session() as s:
        item = visible_item(s, item_id)
        definition_id = dossier_queries.dossier_view(s, item.dossier_id).definition.id
        form_key = item.form_key
    return steps.form_of(runtime(), definition_id, form_key)


def render_page(
    item_id: int | None = None,
    dossier_id: int | None = None,
    errors: dict | None = None,
    field_errors: dict | None = None,
    status: int = 200,
):
    rt = runtime()
    with rt.db.read_session() as s:
        page = dossier_queries.dossier_page(s, dossier_id=dossier_id, item_id=item_id)
        bundle = rt.bundle_for_definition(s, page.view.definition.id) if page else None
        apology = supervision.apology_needed(rt, s, page.view.dossier.id, rt.clock.now()) if page else None
    item, view = _visible_page(page)
    form = steps.form_of(rt, view.definition.id, item.form_key) if item else None
    open_step = item is not None and item.state in OPEN_STATES
    files = attachments.files_of(rt, view.dossier.id)
    with rt.db.read_session() as s:
        names = {
            **page.names,
            **people_queries.full_names(s, [f.uploaded_by for f in files]),
            SYSTEM: gettext("Hệ thống (tự động)"),
        }
    context = {
        "item": item,
        "view": view,
        "returned": _return_of(item, page),
        "dossier": view.dossier,
        "steps": page.steps,
        "history": page.history,
        "names": names,
        "colleagues": page.colleagues,
        "now": rt.clock.now(),
        "at_risk": apology is not None,
        "apology": apology,
        "fields": step_form.fields_of(form),
        "has_form": form is not None,
        "values": _form_values(item, view),
        "field_errors": field_errors or {},
        "errors": errors or {},
        "record": dossier_record.data_of(rt, view.dossier.id, view.definition.id),
        # No step of ours open: it may wait for another agency's system (liên thông).
        "waits": [] if open_step else dossiers.message_waits(rt, view.dossier.id),
        # The leader's decision rests on what the step before proposed: it leads their page.
        "proposal": dossier_record.proposal_for(rt, view.dossier.id, view.definition.id, item.element_id)
        if open_step and current_user.actor().is_supervising()
        else None,
        "files": files,
        "step_names": {w.id: w.name for w in page.steps},
        "checklist": _checklist_files(view, files),
        "may_attach": attachments.may_attach(current_user.actor(), view.dossier),
        "failed": {key.split(".")[0] for key in errors or {}},  # the action whose form is shown again
        "may": _permissions(item, bundle),
        "is_leader": current_user.actor().leads(view.dossier.unit_code),
        "may_stop": view.dossier.run_state not in FINISHED_RUN_STATES
        and current_user.actor().may_stop_dossier(view.dossier.unit_code),
        "labels": {
            "actions": ACTION_LABELS,
            "classes": CLASSIFICATION_LABELS,
            "states": WORK_STATE_LABELS,
            "status": STATUS_LABELS_VI.get(view.dossier.status, str(view.dossier.status)),
            "channel": CHANNEL_LABELS.get(view.dossier.channel, view.dossier.channel),
        },
        "role_label": role_label,
        "escalation_text": escalation_text,
        "entered": _entered,
        "printable": {
            kind: dossier_papers.last_decision(page.steps, decisions, ())
            for kind, decisions in (
                ("bo_sung", dossier_papers.SUPPLEMENT_DECISIONS),
                ("tu_choi", dossier_papers.REFUSAL_DECISIONS),
            )
        },
        **citizen.citizen_context(view.dossier),
    }
    return render_template("desk/work_item.html", **context), status


def _return_of(item, page) -> ReturnNote | None:
    """Why this open step came back from a later one, when it did (the step completed at the
    instant it was opened sent the dossier back): the reason leads its page."""
    if item is None or item.state not in OPEN_STATES:
        return None
    for step in page.steps:
        reason = worklist_queries.return_reason(step.outcome) if step.completed_at == item.created_at else None
        if reason is not None and step.id != item.id:
            return ReturnNote(step.name, step.completed_by or "", step.completed_at, reason)
    return None


def _visible_page(page):
    """(item, dossier view) when the user may see them; 404 otherwise, as for an unknown one."""
    if page is None or (page.item is not None and not current_user.may_see_unit(page.item.unit_code)):
        abort(404, description=gettext("Không tìm thấy bước xử lý này trong đơn vị của bạn."))
    if not may_see_dossier(page.view.dossier):
        abort(404, description=gettext("Không tìm thấy hồ sơ này trong đơn vị của bạn."))
    return page.item, page.view


def _entered(field):
    """A recorded value as the page writes it: dates as dd/mm/yyyy, instants in local time (as every
    other time on the page), the choice's label, else the value."""
    if field.format == "date" and isinstance(field.value, str):
        try:
            return date.fromisoformat(field.value).strftime("%d/%m/%Y")
        except ValueError:
            return field.value
    if field.format == "date-time" and isinstance(field.value, str):
        instant = parse_local_datetime(field.value)
        return current_app.jinja_env.filters["vn_datetime"](instant) if instant else field.value
    return field.shown


def _form_values(item, view) -> dict:
    """What the form shows: what the clerk just posted; else what this step last recorded in the
    dossier (a returned step comes back filled) over what its form carries forward and what
    reception already knows."""
    if request.method == "POST":
        return request.form.to_dict()
    if item is None:
        return {}
    applicant = view.dossier.applicant or {}
    values = {field: applicant[key] for field, key in PREFILL_FROM_APPLICANT.items() if applicant.get(key)}
    values.update(
        dossier_record.step_prefill(runtime(), view.dossier.id, view.definition.id, item.element_id, item.form_key)
    )
    return values


def _checklist_files(view, files) -> list[dict]:
    """The checklist as received, each item with its paper / digitised marks and its scans: the
    items reception recorded, and those whose scans came another way (an online dossier's, through
    the API), named from the catalogue."""
    recorded = (view.dossier.applicant or {}).get("documents", [])
    if recorded and "index" not in recorded[0]:  # received before items were numbered: as recorded
        return [{**doc, "files": []} for doc in recorded]
    scans: dict[int, list] = {}
    for f in files:
        if f.checklist_index is not None:
            scans.setdefault(f.checklist_index, []).append(f)
    by_index = {doc["index"]: doc for doc in recorded}
    catalogue = (view.catalogue.required_documents or []) if view.catalogue else []
    items = []
    for index in sorted(set(by_index) | set(scans)):
        doc = by_index.get(index) or (catalogue[index] if index < len(catalogue) else {})
        # A procedure without a catalogue entry names its checklist items by their number only.
        items.append(
            {
                "name": doc.get("name") or gettext("Giấy tờ số %(n)s", n=index + 1),
                "copies": doc.get("copies"),
                "original": doc.get("original"),
                "paper": bool(by_index.get(index, {}).get("paper")),
                "digitised": index in scans,
                "files": scans.get(index, []),
            }
        )
    return items


def _permissions(item, bundle) -> dict:
    """Which actions to offer: those the engine's rules (engine.domain.assignment) would accept."""
    if item is None or item.state not in OPEN_STATES:
        return {}
    offered = offered_actions(current_user.actor(), StepHolding.of(item))
    offered["return"] = offered["complete"] and actions.has_return_path(bundle, item.element_id)
    return offered
