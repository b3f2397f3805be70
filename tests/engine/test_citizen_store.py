"""Ask citizens for nothing twice (Decree 45/2020) and results as signed documents: a citizen's
first dossier ends with a result PDF signed by the commune's certificate and kept, with the
identity scan, under their ID number; their second dossier links both from the store instead of
asking for them, and every reuse is logged. A signing failure is an incident the worker retries;
the approval stands."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator import catalogue
from configurator import library
from configurator import steps
from engine import pki
from engine import signing
from engine.documents import FolderStore
from engine.domain import citizen_store as rules
from engine.domain import decisions
from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.model import DossierStatus
from engine.services import attachments
from engine.services import citizen_store
from engine.services import dossiers
from engine.services import results
from engine.services import stored_files
from engine.store.attachment_records import AttachmentRecord
from engine.store.citizen_records import CitizenDocumentRecord
from engine.store.citizen_records import CitizenReuseRecord
from engine.store.citizen_records import ResultSigningRecord
from engine.store.operations_records import IncidentRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.processes.test_paths import answers
from tests.processes.test_paths import table_of
from web.demo_files import tiny_pdf

CITIZEN = "001099012345"
PASSWORD_ENV = "MOTCUA_TEST_SIGNING_PASSWORD"


@pytest.fixture
def signing_config(tmp_path, monkeypatch, clock):
    """A CA of the test's own and a certificate for Phường Hoàn Kiếm, named by the settings file."""
    monkeypatch.setenv(PASSWORD_ENV, "mat-khau-thu")
    path = pki.write_demo_settings(
        tmp_path / "pki",
        {"00070": "UBND Phường Hoàn Kiếm"},
        clock.now(),
        password_env=PASSWORD_ENV,
        password=b"mat-khau-thu",
    )
    monkeypatch.setenv(signing.CONFIG_VARIABLE, str(path))
    return signing.load_settings(path)


@pytest.fixture
def library_rt(runtime, tmp_path):
    runtime.documents = FolderStore(tmp_path / "documents")
    add_units(runtime)
    procedures = {p.key: p for p in library.procedures()}
    loaded = {}
    for key in ("cap_giay_xac_nhan_tinh_trang_hon_nhan", "dang_ky_ket_hon"):
        catalogue.import_json(runtime, procedures[key].catalogue)
        loaded[key] = (procedures[key], library.load_one(runtime, procedures[key]))
    return runtime, loaded


def checklist(procedure, indexes) -> list[dict]:
    docs = procedure.catalogue["required_documents"]
    return [{"index": i, "name": docs[i]["name"], "paper": False, "digitised": True} for i in indexes]


def receive(rt, procedure, definition, *, scans=(), reused=None, indexes=()):
    applicant = {
        "name": "Trần Thị Bình",
        "id_number": CITIZEN,
        "phone": "0912345678",
        "address": "12 Hàng Bài",
        "documents": checklist(procedure, sorted({*indexes, *(reused or {})})),
    }
    reception = {
        "nguoi_nop": "Trần Thị Bình",
        "so_giay_to_tuy_than": CITIZEN,
        "hinh_thuc_nop": "truc_tiep",
        "ho_so_day_du": True,
        "ket_qua": "tiep_nhan",
    }
    dossier, _ = steps.receive_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Trần Thị Bình",
        actor=RECEPTION,
        reception=reception,
        applicant=applicant,
        channel="counter",
        files=list(scans),
        reused=reused,
    )
    return dossier


def work_until(rt, clock, procedure, dossier_id, stop_before: str | None = None) -> None:
    """Complete every open step on its default flow (approving at the leader's step)."""
    table, forms = table_of(procedure), procedure.forms("v1")
    for _ in range(20):
        with rt.db.read_session() as s:
            item = s.scalar(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
            )
        if item is None or item.element_id == stop_before:
            return
        clock.advance(minutes=20)
        data = answers(table[item.element_id], forms.get(item.form_key, {}), None)
        if decisions.is_refusal(data):
            data[decisions.REFUSAL_REASON_FIELD[data["ket_qua"]]] = "không đạt"
        dossiers.complete_work_item(rt, item.id, Actor(f"{item.role}_1", frozenset({item.role}), "00070"), data)


def rows(rt, record, **where):
    with rt.db.read_session() as s:
        return list(s.scalars(select(record).filter_by(**where).order_by(record.id)))


def first_dossier(rt, clock, loaded):
    """Marital-status certificate: identity papers scanned, approved, signed, returned."""
    procedure, definition = loaded["cap_giay_xac_nhan_tinh_trang_hon_nhan"]
    scan = stored_files.stage(
        Upload("cccd.pdf", "application/pdf", tiny_pdf("CCCD 001099012345")),
        AttachmentKind.RECEPTION,
        checklist_index=2,
    )
    declaration = stored_files.stage(
        Upload("to_khai.pdf", "application/pdf", tiny_pdf("To khai")), AttachmentKind.RECEPTION, checklist_index=0
    )
    dossier = receive(rt, procedure, definition, scans=[scan, declaration], indexes=[0, 2])
    work_until(rt, clock, procedure, dossier.id, stop_before="tra_ket_qua")
    return procedure, dossier


def test_second_dossier_reuses_the_first_result_and_identity_scan_without_asking(library_rt, clock, signing_config):
    rt, loaded = library_rt
    procedure, first = first_dossier(rt, clock, loaded)
    (owed,) = rows(rt, ResultSigningRecord, dossier_id=first.id)
    assert owed.status == "pending"  # the approval committed; the worker signs

    assert results.issue_due(rt) == {"results_signed": 1}
    work_until(rt, clock, procedure, first.id)
    with rt.db.read_session() as s:
        assert s.get(DossierRecord, first.id).status == DossierStatus.RESULT_RETURNED
    kept = rows(rt, CitizenDocumentRecord, id_number=CITIZEN)
    # The declaration was for that request only: not kept.
    assert sorted((k.kind, k.name) for k in kept) == [
        ("reception", "Giấy tờ tùy thân (xuất trình)"),
        ("result", "Giấy xác nhận tình trạng hôn nhân"),
    ]

    # The second dossier: reception sees what the store holds for the number, and which items it answers.
    marriage, definition = loaded["dang_ky_ket_hon"]
    holding = citizen_store.holding(rt, CITIZEN, RECEPTION)
    assert holding.details == {"name": "Trần Thị Bình", "phone": "0912345678", "address": "12 Hàng Bài"}
    items = [d["name"] for d in marriage.catalogue["required_documents"]]
    found = rules.matches(items, holding.documents)
    assert {i: h.name for i, h in found.items()} == {
        1: "Giấy xác nhận tình trạng hôn nhân",
        2: "Giấy tờ tùy thân (xuất trình)",
    }
    assert all(h.dossier_code == first.code for h in found.values())

    clock.advance(days=1)
    second = receive(rt, marriage, definition, reused={i: h.document_id for i, h in found.items()})
    files = rows(rt, AttachmentRecord, dossier_id=second.id)
    assert sorted(f.checklist_index for f in files) == [1, 2]
    originals = {k.attachment_id for k in kept}
    with rt.db.read_session() as s:
        sources = {s.get(AttachmentRecord, a).sha256: s.get(AttachmentRecord, a) for a in originals}
    for f in files:  # linked, not re-uploaded: the same stored bytes, readable from the new dossier
        assert f.storage_key == sources[f.sha256].storage_key and f.key != sources[f.sha256].key
        assert attachments.content(rt, f) == attachments.content(rt, sources[f.sha256])
    reuses = rows(rt, CitizenReuseRecord, dossier_id=second.id)
    assert [(r.checklist_index, r.actor) for r in reuses] == [(1, RECEPTION.username), (2, RECEPTION.username)]
    assert all(r.at == clock.now() for r in reuses)
    logged = rows(rt, AuditEventRecord, dossier_id=second.id, action="citizen_store_reuse")
    assert len(logged) == 2
    lines = citizen_store.reuses_of_applicant(rt, first.id)
    assert {(line.document, line.dossier_code) for line in lines} == {
        ("Giấy xác nhận tình trạng hôn nhân", second.code),
        ("Giấy tờ tùy thân (xuất trình)", second.code),
    }


def test_the_signed_result_verifies_and_a_tampered_copy_does_not(library_rt, clock, signing_config):
    rt, loaded = library_rt
    _procedure, first = first_dossier(rt, clock, loaded)
    clock.advance(minutes=7)  # the worker's pass comes later: the signature says when it signed
    results.issue_due(rt)
    (result,) = [f for f in rows(rt, AttachmentRecord, dossier_id=first.id) if f.kind == "result"]
    data = attachments.content(rt, result)
    verdict = signing.verify_pdf(data, signing_config.trust_roots, clock.now())
    assert verdict.valid and verdict.signer == "UBND Phường Hoàn Kiếm" and verdict.signed_at == clock.now()
    tampered = bytearray(data)
    tampered[len(data) // 3] ^= 0x01
    assert not signing.verify_pdf(bytes(tampered), signing_config.trust_roots, clock.now()).valid
    stranger = pki.make_authority("Some other CA", clock.now())
    other_root = signing_config.trust_roots[0].with_name("other.pem")
    other_root.write_bytes(stranger.pem())
    untrusted = signing.verify_pdf(data, [other_root], clock.now())
    assert untrusted.intact and not untrusted.trusted and not untrusted.valid


def test_a_signing_failure_is_an_incident_retried_by_the_worker_and_the_approval_stands(
    library_rt, clock, tmp_path, monkeypatch
):
    rt, loaded = library_rt
    monkeypatch.setenv(PASSWORD_ENV, "pw")  # signing is set up, but for another commune only
    monkeypatch.setenv(
        signing.CONFIG_VARIABLE,
        str(
            pki.write_demo_settings(
                tmp_path / "other",
                {"00073": "UBND Phường Cửa Nam"},
                clock.now(),
                password_env=PASSWORD_ENV,
                password=b"pw",
            )
        ),
    )
    procedure, first = first_dossier(rt, clock, loaded)
    assert results.issue_due(rt) == {"results_signed": 0}
    (incident,) = rows(rt, IncidentRecord, kind="signing")
    assert incident.status == "retrying" and "no signing certificate" in incident.error
    with rt.db.read_session() as s:  # the approval is not undone: the dossier waits at the return step
        assert (
            s.scalar(
                select(WorkItemRecord.element_id).where(
                    WorkItemRecord.dossier_id == first.id, WorkItemRecord.state == "open"
                )
            )
            == "tra_ket_qua"
        )

    path = pki.write_demo_settings(
        tmp_path / "later", {"01": "UBND Thành phố Hà Nội"}, clock.now(), password_env=PASSWORD_ENV, password=b"pw"
    )
    monkeypatch.setenv(signing.CONFIG_VARIABLE, str(path))
    assert results.issue_due(rt) == {"results_signed": 0}  # parked until its retry time
    clock.advance(minutes=2)
    assert results.issue_due(rt) == {"results_signed": 1}  # the commune signs with its province's certificate
    (incident,) = rows(rt, IncidentRecord, kind="signing")
    assert incident.status == "resolved"
    (owed,) = rows(rt, ResultSigningRecord, dossier_id=first.id)
    assert owed.status == "signed" and owed.signer == "UBND Thành phố Hà Nội"


def test_without_signing_settings_an_approval_owes_no_signed_result(library_rt, clock, monkeypatch):
    rt, loaded = library_rt
    monkeypatch.delenv(signing.CONFIG_VARIABLE, raising=False)
    _procedure, first = first_dossier(rt, clock, loaded)
    assert rows(rt, ResultSigningRecord) == [] and results.issue_due(rt) == {"results_signed": 0}
    assert rows(rt, IncidentRecord) == []


def test_the_store_is_read_by_the_reception_desk_with_an_exact_number_only(library_rt, clock):
    rt, _loaded = library_rt
    with pytest.raises(PermissionDenied):
        citizen_store.holding(rt, CITIZEN, Actor("chuyen_vien_1", frozenset({"chuyen_vien"}), "00070"))
    with pytest.raises(InvalidAction) as refused:
        citizen_store.holding(rt, "0010990", RECEPTION)
    assert refused.value.field == "id_number"
    assert citizen_store.holding(rt, CITIZEN, RECEPTION).documents == []
    assert len(rows(rt, AuditEventRecord, action="citizen_store_read")) == 1


def test_a_document_of_another_citizen_cannot_be_linked(library_rt, clock, signing_config):
    rt, loaded = library_rt
    procedure, first = first_dossier(rt, clock, loaded)
    results.issue_due(rt)
    work_until(rt, clock, procedure, first.id)
    (kept, *_) = rows(rt, CitizenDocumentRecord, id_number=CITIZEN)
    marriage, definition = loaded["dang_ky_ket_hon"]
    applicant = {"name": "Lê Văn C", "id_number": "001088000111", "documents": checklist(marriage, [1])}
    with pytest.raises(InvalidAction) as refused:
        steps.receive_dossier(
            rt,
            definition_id=definition.id,
            unit_code="00070",
            applicant_name="Lê Văn C",
            actor=RECEPTION,
            reception={
                "nguoi_nop": "Lê Văn C",
                "so_giay_to_tuy_than": "001088000111",
                "hinh_thuc_nop": "truc_tiep",
                "ho_so_day_du": True,
                "ket_qua": "tiep_nhan",
            },
            applicant=applicant,
            channel="counter",
            reused={1: kept.id},
        )
    assert refused.value.field == "reuse_1"
    assert rows(rt, CitizenReuseRecord) == []


@pytest.mark.parametrize(
    "kept, item, expected",
    [
        (
            "Giấy xác nhận tình trạng hôn nhân",
            "Giấy xác nhận tình trạng hôn nhân (nếu người yêu cầu không thường trú)",
            True,
        ),
        (
            "Giấy khai sinh (bản chính)",
            "Bản sao Giấy khai sinh trước đây hoặc giấy tờ, tài liệu có nội dung liên quan",
            True,
        ),
        ("Giấy tờ tùy thân (xuất trình)", "Giấy tờ tùy thân của hai bên (xuất trình)", True),
        ("Tờ khai đăng ký kết hôn (theo mẫu)", "Tờ khai đăng ký kết hôn (theo mẫu)", False),
        ("Giấy khai sinh", "Giấy chứng sinh", False),
    ],
)
def test_which_checklist_item_a_kept_document_answers(kept, item, expected):
    assert rules.answers(kept, item) is expected


@pytest.mark.parametrize(
    "name, kept",
    [
        ("Đơn đề nghị cấp giấy phép xây dựng (theo mẫu)", False),
        ("Giấy đề nghị đăng ký hộ kinh doanh", False),
        ("Tờ khai đăng ký khai sinh (theo mẫu)", False),
        ("Đồng ý của cha mẹ", True),
        ("Giấy chứng sinh", True),
    ],
)
def test_papers_made_for_one_request_are_not_kept(name, kept):
    assert rules.worth_keeping(name) is kept
