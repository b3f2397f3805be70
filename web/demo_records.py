"""The demo's side of issue 20: a certificate authority of its own with a signing certificate for
Hà Nội and each demo commune (beside the SQLite database, engine.signing.demo_folder), and one
citizen whose earlier dossier left their identity scan and a signed marital-status certificate in
their data store, so that receiving their marriage registration asks for neither."""

from __future__ import annotations

import random
from pathlib import Path

from configurator import catalogue
from configurator import library
from configurator import steps
from engine import pki
from engine import signing
from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.services import dossiers
from engine.services import results
from engine.services import stored_files
from engine.services.runtime import Runtime
from engine.store import queries
from engine.store.records import UnitRecord
from web.demo_files import tiny_pdf
from web.seed import sample_answers

CITIZEN_ID = "001099012345"
CITIZEN_NAME = "Trần Thị Bình"
EARLIER = "cap_giay_xac_nhan_tinh_trang_hon_nhan"


def seed_catalogue(rt: Runtime) -> int:
    """The library's catalogue entries (checklists, fees, results): reception marks the checklist
    items the data store holds, so the demo needs them."""
    return len(catalogue.import_json(rt, [p.catalogue for p in library.procedures()]))


def seed_signing(rt: Runtime, units: tuple[str, ...]) -> Path:
    """The demo CA and certificates (password in the file: the demo's only)."""
    with rt.db.read_session() as s:
        names = {code: f"UBND {s.get(UnitRecord, code).name}" for code in ("01", *units) if s.get(UnitRecord, code)}
    return pki.write_demo_settings(
        signing.demo_folder(rt.db.url), names, rt.clock.now(), password_env=None, password=b"motcua-demo"
    )


def seed_citizen(rt: Runtime, unit: str = "00070") -> str | None:
    """The demo citizen's earlier dossier, received with their identity scan, approved, signed and
    returned; its code (None when the library has no such procedure)."""
    with rt.db.read_session() as s:
        definition = next((d for d in queries.newest_published_per_template(s) if d.key == EARLIER), None)
    if definition is None:
        return None
    reception = Actor(f"mot_cua_{unit}_1", frozenset({"mot_cua"}), unit)
    scan = stored_files.stage(
        Upload("cccd.pdf", "application/pdf", tiny_pdf(f"CCCD {CITIZEN_ID}")),
        AttachmentKind.RECEPTION,
        checklist_index=2,
    )
    applicant = {
        "name": CITIZEN_NAME,
        "id_number": CITIZEN_ID,
        "phone": "0912345678",
        "address": "Số 12 phố Hàng Bài, Phường Hoàn Kiếm",
        "documents": [{"index": 2, "name": "Giấy tờ tùy thân (xuất trình)", "paper": False, "digitised": True}],
    }
    dossier, _ = steps.receive_dossier(
        rt,
        definition_id=definition.id,
        unit_code=unit,
        applicant_name=CITIZEN_NAME,
        actor=reception,
        applicant=applicant,
        channel="counter",
        files=[scan],
        reception={
            "nguoi_nop": CITIZEN_NAME,
            "so_giay_to_tuy_than": CITIZEN_ID,
            "hinh_thuc_nop": "truc_tiep",
            "ho_so_day_du": True,
            "ket_qua": "tiep_nhan",
        },
    )
    procedure = next(p for p in library.procedures() if p.key == EARLIER)
    forms, rng = procedure.forms(procedure.versions()[-1]), random.Random(20)
    for decision in ("dat", "duyet", None):  # appraised, approved (and signed), returned
        _complete_open_step(rt, dossier.id, unit, forms, rng, decision)
        if decision == "duyet":
            _sign_now(rt, dossier.id)
    return dossier.code


def _complete_open_step(rt: Runtime, dossier_id: int, unit: str, forms: dict, rng, decision: str | None) -> None:
    with rt.db.read_session() as s:
        item = queries.open_step(s, dossier_id)
    if item is None:
        return
    answers = sample_answers(forms.get(item.form_key, {}), rng)
    if decision:
        answers["ket_qua"] = decision
    dossiers.complete_work_item(rt, item.id, Actor(f"{item.role}_{unit}_1", frozenset({item.role}), unit), answers)


def _sign_now(rt: Runtime, dossier_id: int) -> None:
    """This one result is signed during the seed (the worker signs the others' on its first pass)."""
    results.issue_pending(rt, dossier_id)
