"""Reception in one pass: one save issues the code and appointment, completes the reception step
with its form data and keeps the checklist's scans; a supplement request or a refusal is the
same save with another choice; anything refused writes nothing and keeps no file."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from configurator import library
from configurator import steps
from configurator.forms import FormError
from engine.documents import FolderStore
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.domain.errors import InvalidAction
from engine.domain.model import DossierStatus
from engine.domain.model import RunState
from engine.services import stored_files
from engine.store.attachment_records import AttachmentRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from web.demo_files import tiny_pdf

RECEIVED = {
    "nguoi_nop": "Nguyễn Văn A",
    "so_giay_to_tuy_than": "001099012345",
    "hinh_thuc_nop": "truc_tiep",
    "ho_so_day_du": True,
    "ket_qua": "tiep_nhan",
}


@pytest.fixture
def birth(runtime, tmp_path):
    runtime.documents = FolderStore(tmp_path / "documents")
    add_units(runtime)
    return library.load_one(runtime, next(p for p in library.procedures() if p.key == "dang_ky_khai_sinh"))


def receive(rt, definition, reception, files=()):
    return steps.receive_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        reception=reception,
        channel="counter",
        files=files,
    )


def items(rt, dossier_id):
    with rt.db.read_session() as s:
        return list(
            s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id).order_by(WorkItemRecord.id))
        )


def count(rt, record) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(record))


def test_one_save_receives_the_dossier_and_hands_it_to_the_specialist_with_its_scans(runtime, birth, clock):
    scan = stored_files.stage(
        Upload("to_khai.pdf", "application/pdf", tiny_pdf("To khai")), AttachmentKind.RECEPTION, checklist_index=0
    )
    dossier, reception = receive(runtime, birth, RECEIVED, [scan])
    assert dossier.code.startswith("01.00070-") and dossier.appointment_at is not None
    first, second = items(runtime, dossier.id)
    assert (first.element_id, first.state, first.completed_by) == ("tiep_nhan", "completed", RECEPTION.username)
    assert first.outcome["so_giay_to_tuy_than"] == "001099012345"
    assert (second.element_id, second.state, second.role) == ("tham_dinh", "open", "tu_phap_ho_tich")
    with runtime.db.read_session() as s:
        (row,) = s.scalars(select(AttachmentRecord))
    assert (row.work_item_id, row.checklist_index, row.name) == (reception.id, 0, "to_khai.pdf")
    assert runtime.documents.get(row.storage_key).startswith(b"%PDF-")


def test_a_supplement_request_is_the_same_save_and_stops_the_clock(runtime, birth, clock):
    dossier, _ = receive(runtime, birth, {**RECEIVED, "ket_qua": "bo_sung", "noi_dung_bo_sung": "Giấy chứng sinh"})
    with runtime.db.read_session() as s:
        dossier = s.get(DossierRecord, dossier.id)
    assert dossier.status == DossierStatus.SUPPLEMENT_REQUESTED.value
    assert [w.element_id for w in items(runtime, dossier.id)] == ["tiep_nhan", "yeu_cau_bo_sung"]


def test_a_refusal_at_reception_ends_the_dossier_with_its_reason(runtime, birth, clock):
    dossier, _ = receive(runtime, birth, {**RECEIVED, "ket_qua": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})
    with runtime.db.read_session() as s:
        dossier = s.get(DossierRecord, dossier.id)
    assert (dossier.status, dossier.run_state) == (DossierStatus.NOT_ACCEPTED.value, RunState.COMPLETED.value)


@pytest.mark.parametrize(
    "reception, field",
    [
        ({**RECEIVED, "so_giay_to_tuy_than": "12ab"}, "so_giay_to_tuy_than"),
        ({k: v for k, v in RECEIVED.items() if k != "hinh_thuc_nop"}, "hinh_thuc_nop"),
        ({**RECEIVED, "ket_qua": "tu_choi"}, "ly_do_tu_choi"),
    ],
)
def test_bad_reception_data_names_the_field_and_writes_nothing_nor_keeps_a_file(runtime, birth, reception, field):
    scan = stored_files.stage(Upload("to_khai.pdf", "application/pdf", tiny_pdf("To khai")), AttachmentKind.RECEPTION)
    with pytest.raises((FormError, InvalidAction)) as refused:
        receive(runtime, birth, reception, [scan])
    assert refused.value.field == field
    assert count(runtime, DossierRecord) == count(runtime, WorkItemRecord) == count(runtime, AttachmentRecord) == 0
    assert [p for p in runtime.documents.root.rglob("*") if p.is_file()] == []


def test_only_the_reception_role_receives_in_one_pass(runtime, birth):
    from engine.domain.assignment import Actor
    from engine.domain.errors import PermissionDenied

    specialist = Actor("chuyen_vien_1", frozenset({"chuyen_vien"}), "00070")
    with pytest.raises(PermissionDenied):
        steps.receive_dossier(
            runtime,
            definition_id=birth.id,
            unit_code="00070",
            applicant_name="Nguyễn Văn A",
            actor=specialist,
            reception=RECEIVED,
        )
    assert count(runtime, DossierRecord) == 0
