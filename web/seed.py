"""Demo data for `make run`: Hanoi's 126 communes, users for each role, the process library,
and dossiers in every state on a clock that has moved through real working days, carrying the data
their steps entered (made-up names and numbers, no real person's) and a few small generated
documents (web.demo_files: a scan of the declaration as PDF, a PNG, the signed result)."""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from engine.domain import decisions
from engine.domain.model import WorkItemState
from engine.services.runtime import Runtime
from engine.store import queries
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.units import units_of_province
from web import seed_citizen

DEMO_PASSWORD = "motcua2026"
#: Communes that get a full set of demo users (Hoàn Kiếm, Cửa Nam, Ba Đình).
DEMO_COMMUNES = ("00070", "00073", "00004")


def demo_roles() -> dict[str, str]:
    """The roles the process library uses (processes/_shared/roles.json), one user pair each."""
    import json

    from configurator.library import LIBRARY

    return json.loads((LIBRARY / "_shared" / "roles.json").read_text(encoding="utf-8"))["roles"]


def is_empty(rt: Runtime) -> bool:
    with rt.db.session() as s:
        return queries.unit_count(s) == 0


def seed_units(rt: Runtime, province: str = "ha_noi") -> int:
    units = units_of_province(province)
    with rt.db.session() as s:
        for unit in units:  # the province first: communes reference it
            if s.get(UnitRecord, unit.code) is None:
                s.add(
                    UnitRecord(
                        code=unit.code,
                        name=unit.name,
                        kind=unit.kind,
                        parent_code=unit.parent_code,
                        agency_code=unit.agency_code,
                    )
                )
                s.flush()
    return len(units)


def seed_users(rt: Runtime) -> list[str]:
    names = []
    password = generate_password_hash(DEMO_PASSWORD)
    with rt.db.session() as s:
        for code in DEMO_COMMUNES:
            for role, title in demo_roles().items():
                for n in (1, 2):
                    username = f"{role}_{code}_{n}"
                    if s.get(UserRecord, username) is None:
                        s.add(
                            UserRecord(
                                username=username,
                                full_name=f"{title} {n} ({code})",
                                password_hash=password,
                                unit_code=code,
                                roles=role,
                            )
                        )
                    names.append(username)
        for username, roles, full_name in (
            ("giam_sat", "supervisor", "Giám sát viên Thành phố"),
            ("mo_hinh", "modeller", "Cán bộ CNTT mô hình hoá"),
            ("quan_tri", "admin", "Quản trị hệ thống"),
        ):
            if s.get(UserRecord, username) is None:
                s.add(
                    UserRecord(
                        username=username, full_name=full_name, password_hash=password, unit_code="01", roles=roles
                    )
                )
            names.append(username)
    return names


def seed_library(rt: Runtime) -> int:
    """The library's catalogue entries (so the desk shows each procedure's document checklist and
    fees) and its newest template versions, published."""
    from configurator import catalogue
    from configurator import library

    catalogue.load_library(rt)
    return len(library.load(rt))


def seed_rollouts(rt: Runtime, province_code: str = "01") -> int:
    """Every published procedure rolled out to every commune of the province (126 for Hà Nội),
    and one commune with local differences so that the drift report has something to show."""
    from configurator import variants

    with rt.db.read_session() as s:
        published = queries.published_definitions(s)
    rolled = sum(variants.rollout(rt, d.id, province=province_code).units for d in published)
    birth = next((d for d in published if d.key == "dang_ky_khai_sinh"), None)
    if birth is not None:
        variants.set_overrides(
            rt,
            birth.key,
            DEMO_COMMUNES[0],
            roles={"mot_cua": f"mot_cua_{DEMO_COMMUNES[0]}_1"},
            budgets={"tiep_nhan": "10m"},
        )
    return rolled


def seed_dossiers(rt: Runtime, per_procedure: int = 6, seed: int = 2026) -> int:
    """Dossiers in every state: received over the last weeks on a moving clock (at the counter,
    online or by post), each taken a random number of steps down its approve path, some refused,
    some cancelled, some late."""
    import random
    from datetime import timedelta

    from configurator import library
    from engine import signing
    from engine.clock import FrozenClock
    from engine.domain.assignment import Actor
    from engine.services import dossiers
    from engine.services.runtime import Runtime as _Runtime

    rng = random.Random(seed)
    real_now = rt.clock.now()
    clock = FrozenClock(real_now - timedelta(days=21))
    sim = _Runtime(
        db=rt.db, clock=clock, specs=rt.specs, calendars=rt.calendars, worker_id=rt.worker_id, documents=rt.documents
    )
    forms = {p.key: p.forms(p.versions()[-1]) for p in library.procedures()}
    signs_results = signing.settings_path(rt.db.url) is not None
    created = 0
    with rt.db.session() as s:
        published = queries.published_definitions(s)
    names = [
        "Nguyễn Văn An",
        "Trần Thị Bình",
        "Lê Minh Châu",
        "Phạm Quốc Dũng",
        "Hoàng Thu Hà",
        "Vũ Đức Long",
        "Đặng Thị Mai",
        "Bùi Văn Nam",
        "Đỗ Thị Oanh",
        "Ngô Gia Phúc",
    ]
    for index in range(per_procedure * len(published)):
        definition = published[index % len(published)]
        unit = DEMO_COMMUNES[index % len(DEMO_COMMUNES)]
        clock.set(real_now - timedelta(days=21) + timedelta(hours=index * 9 % (21 * 24)))
        if clock.now() > real_now:
            clock.set(real_now - timedelta(hours=rng.randint(1, 48)))
        reception = Actor(f"mot_cua_{unit}_1", frozenset({"mot_cua"}), unit)
        dossier = dossiers.start_dossier(
            sim,
            definition_id=definition.id,
            unit_code=unit,
            applicant_name=rng.choice(names),
            actor=reception,
            applicant={"phone": "0912345678", **seed_citizen.applicant_extras(definition.key, index)},
            channel=_channel(index),
        )
        created += 1
        if seed_citizen.settle_fees(sim, dossier, reception, index):
            continue  # waits for its fee at status 6
        if sim.documents is not None and index % 3 != 2:
            _attach_scans(sim, dossier.id, reception, index)
        if index % 12 == 7:
            _request_supplement(sim, dossier.id, reception)
            continue
        _walk(sim, dossier.id, unit, forms.get(definition.key, {}), rng, real_now, dossier.applicant_name)
        if sim.documents is not None and not signs_results:  # else the worker signs the real one
            _attach_result(sim, dossier.id, unit, definition.name)
        if index % 17 == 5:
            _withdraw(sim, dossier.id, reception)
        elif index % 23 == 11:
            _apologise(sim, dossier.id, unit)
    _send_back_and_reassign(sim)
    return created


def _send_back_and_reassign(sim, returns: int = 4, reassignments: int = 3) -> None:
    """A few open steps sent back to the previous one (where the template has that path) and a few
    a leader gives to the role's second officer: what the officers' KPIs count as returns caused
    and reassignments."""
    from engine.domain.assignment import Actor
    from engine.services import actions

    with sim.db.session() as s:
        steps = queries.open_role_steps(s)
        returnable = [
            item
            for item, definition_id in steps
            if actions.has_return_path(sim.bundle_for_definition(s, definition_id), item.element_id)
        ]
    for item in returnable[:returns]:
        unit = item.unit_code
        actor = Actor(item.assignee or f"{item.role}_{unit}_1", frozenset({item.role}), unit)
        actions.return_to_previous(sim, item.id, actor, "Hồ sơ thiếu chữ ký của người nộp, đề nghị kiểm tra lại")
    held = [item for item, _ in steps if item.assignee and item.assignee.endswith("_1") and item not in returnable]
    for item in held[:reassignments]:
        leader = Actor(f"lanh_dao_{item.unit_code}_1", frozenset({"lanh_dao"}), item.unit_code)
        actions.reassign_work_item(
            sim, item.id, leader, item.assignee[:-2] + "_2", reason="Cân đối công việc trong tuần"
        )


def _channel(index: int) -> str:
    """One dossier in seven online, as about 14% of Hanoi's were in 2025; one in fifty by post."""
    if index % 7 == 3:
        return "online"
    return "post" if index % 50 == 9 else "counter"


def seed_sla(rt: Runtime) -> int:
    """What the worker would have done by now: the warnings, breaches and escalations of the late
    demo steps, and the apology requests."""
    from engine.services import sla

    return sum(sla.sweep(rt).values())


def _apologise(sim, dossier_id, unit) -> None:
    """The leader foresees a late result: apology letter and a new appointment (once)."""
    from engine.domain.assignment import Actor
    from engine.domain.calendar import MINUTES_PER_DAY
    from engine.domain.errors import EngineError
    from engine.services import dossiers
    from engine.store.records import DossierRecord

    with sim.db.read_session() as s:
        dossier = s.get(DossierRecord, dossier_id)
    if dossier.appointment_at is None or dossier.completed_at is not None:
        return
    leader = Actor(f"lanh_dao_{unit}_1", frozenset({"lanh_dao"}), unit)
    with sim.db.read_session() as s:
        calendar = sim.calendars.for_unit(s, unit)
    new = calendar.add(dossier.appointment_at, 2 * MINUTES_PER_DAY)
    try:
        dossiers.reappoint_dossier(sim, dossier_id, leader, new, "Cần xác minh thêm thông tin với cơ quan liên quan")
    except EngineError:
        pass  # the dossier moved on meanwhile: no apology needed


def _attach_scans(sim, dossier_id, reception, index: int) -> None:
    """The declaration scanned as PDF (checklist item 0) and, for some, a photographed paper (PNG)."""
    from engine.domain.attachments import AttachmentKind
    from engine.domain.attachments import Upload
    from engine.services import attachments
    from web.demo_files import tiny_pdf
    from web.demo_files import tiny_png

    attachments.attach(
        sim,
        dossier_id,
        reception,
        Upload("to_khai.pdf", "application/pdf", tiny_pdf(f"To khai - ho so mau {index}")),
        AttachmentKind.RECEPTION,
        checklist_index=0,
    )
    if index % 2:
        attachments.attach(
            sim,
            dossier_id,
            reception,
            Upload("giay_to_kem_theo.png", "image/png", tiny_png(colour=(40 + index % 150, 90, 160))),
            AttachmentKind.RECEPTION,
            checklist_index=1,
        )


def _attach_result(sim, dossier_id, unit, procedure: str) -> None:
    """A dossier past its leader's signature keeps the signed result as a PDF."""
    from engine.domain.assignment import Actor
    from engine.domain.attachments import AttachmentKind
    from engine.domain.attachments import Upload
    from engine.services import attachments
    from web.demo_files import tiny_pdf

    with sim.db.read_session() as s:
        signed = queries.step_at(s, dossier_id, "ky_duyet", state=WorkItemState.COMPLETED.value)
    if signed is None or (signed.outcome or {}).get("ket_qua") == "tra_lai":
        return
    leader = Actor(signed.completed_by or f"lanh_dao_{unit}_1", frozenset({"lanh_dao"}), unit)
    attachments.attach(
        sim,
        dossier_id,
        leader,
        Upload("ket_qua_da_ky.pdf", "application/pdf", tiny_pdf("Ket qua giai quyet - ban mau")),
        AttachmentKind.RESULT,
        work_item_id=signed.id,
    )


def _request_supplement(sim, dossier_id, reception) -> None:
    """The reception check finds the dossier incomplete: it waits for the citizen (status 5)."""
    from engine.services import dossiers

    with sim.db.read_session() as s:
        item = queries.step_at(s, dossier_id, "tiep_nhan")
    if item is not None:
        dossiers.complete_work_item(
            sim, item.id, reception, {"ket_qua": "bo_sung", "noi_dung_bo_sung": "Thiếu bản sao giấy tờ tuỳ thân"}
        )


def _withdraw(sim, dossier_id, reception) -> None:
    """Some applicants withdraw (Decree 118 Art. 21): the dossier stops with a stop notice."""
    from engine.domain.errors import EngineError
    from engine.services import dossiers

    try:
        dossiers.cancel_dossier(sim, dossier_id, reception, "Công dân rút hồ sơ theo đề nghị", withdrawn=True)
    except EngineError:
        pass  # already finished: nothing to withdraw


def _walk(sim, dossier_id, unit, forms, rng, real_now, applicant_name: str = "Nguyễn Văn An") -> None:
    """Work a dossier a random number of steps along its first-choice answers."""
    from datetime import timedelta

    from engine.domain.assignment import Actor
    from engine.domain.errors import EngineError
    from engine.services import dossiers

    steps = rng.choice([0, 1, 2, 3, 4, 5, 8, 8, 8])
    for _ in range(steps):
        with sim.db.session() as s:
            item = queries.open_step(s, dossier_id)
        if item is None:
            if not _agency_answers(sim, dossier_id, forms, rng):
                return
            continue
        lateness = rng.choice([0.3, 0.5, 0.8, 0.9, 1.6])  # some steps finish late
        span = (item.due_at - item.created_at) if item.due_at else timedelta(hours=2)
        target = item.created_at + span * lateness
        if target > real_now:
            return  # the demo stops at the real now: this step is still in progress
        sim.clock.set(max(target, sim.clock.now()))
        actor = Actor(f"{item.role}_{unit}_1", frozenset({item.role}), unit)
        answers = sample_answers(forms.get(item.form_key, {}), rng)
        if "nguoi_nop" in answers:  # reception records the applicant the dossier was received from
            answers["nguoi_nop"] = applicant_name
        try:
            dossiers.complete_work_item(sim, item.id, actor, answers)
        except EngineError:
            return


def _agency_answers(sim, dossier_id, forms, rng) -> bool:
    """A liên thông dossier waiting for another agency: every other time its system has answered
    (through the message the step waits for), else the dossier is still waiting for it."""
    from engine.domain.assignment import Actor
    from engine.services import dossiers

    waits = dossiers.message_waits(sim, dossier_id)
    if not waits or rng.random() < 0.5:
        return False
    answer = sample_answers(forms.get(waits[0].element_id, {}), rng)
    dossiers.send_message(sim, dossier_id, waits[0].event, Actor.system(), answer)
    return True


#: Made-up values for the library's text fields, by what the field's name says it holds.
SAMPLE_TEXT = (
    ("ho_ten", ("Nguyễn Minh Khang", "Trần Bảo Ngọc", "Lê Gia Huy", "Phạm Thảo Vy", "Vũ Đức Anh")),
    ("nguoi", ("Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu")),
    ("noi_sinh", ("Bệnh viện Phụ sản Hà Nội", "Bệnh viện Bạch Mai", "Trạm y tế phường")),
    ("dia_chi", ("Số 12 phố Hàng Bạc", "Số 5 ngõ 34 phố Hàng Gai", "Số 8 phố Lý Thái Tổ")),
    ("y_kien", ("Hồ sơ đầy đủ, hợp lệ; đề nghị giải quyết", "Đã kiểm tra, thông tin khớp giấy tờ gốc")),
)
#: Made-up values for the patterns the library's forms use.
SAMPLE_PATTERN = {"^[0-9]{9,12}$": "001090012345", "^[0-9+ ]{8,15}$": "0912345678", "^[0-9]+$": "125"}


def _sample_value(name: str, field: dict, rng):
    """A made-up value a field of its kind and name accepts, or None to leave it blank."""
    kind, fmt = field.get("type", "string"), field.get("format")
    if kind in ("integer", "number"):
        return field.get("minimum", 1)
    if kind != "string":
        return None
    if fmt == "date":
        return f"2026-02-{rng.randint(1, 27):02d}"
    if fmt == "date-time":
        return "2026-03-02T08:30:00"
    if fmt == "email":
        return "congdan@example.vn"
    if "pattern" in field:
        return SAMPLE_PATTERN.get(field["pattern"])
    text = next((rng.choice(values) for key, values in SAMPLE_TEXT if key in name), "Nội dung mẫu")
    return text[: field.get("maxLength", len(text))] if len(text) >= field.get("minLength", 0) else None


def sample_answers(form: dict, rng) -> dict:
    """Plausible values: the first enum option (the approve path) most of the time, made-up text,
    dates and numbers for the rest (no real person's data)."""
    answers = {}
    for name, field in form.get("properties", {}).items():
        if "enum" in field:
            options = field["enum"]
            answers[name] = options[0] if rng.random() < 0.9 else rng.choice(options)
        elif field.get("type") == "boolean":
            answers[name] = True
        elif (value := _sample_value(name, field, rng)) is not None:
            answers[name] = value
    if decisions.is_refusal(answers):  # a refusal is never recorded without its reason
        answers[decisions.REFUSAL_REASON_FIELD[answers[decisions.DECISION_KEY]]] = (
            "Hồ sơ không đủ điều kiện giải quyết theo quy định"
        )
    return answers
