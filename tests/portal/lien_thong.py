"""The library's interconnected procedures as a connected province runs them (their v2): the
dossier waits at a receive task for the other agency's system (the police, social insurance) to
answer with a BPMN message, instead of an officer's step in our inbox."""

from __future__ import annotations

from configurator import library
from engine.domain.assignment import Actor
from engine.services import dossiers
from engine.store.records import WorkItemRecord

KEY = "lien_thong_dang_ky_khai_tu_xoa_dang_ky_thuong_tru"
BIRTH_KEY = "lien_thong_khai_sinh_thuong_tru_bhyt_tre_duoi_6_tuoi"
MESSAGE = "da_xoa_thuong_tru"
#: What the police system's answer carries: the shipped form of the waiting step.
ANSWER = {"ket_qua": "hoan_thanh", "so_van_ban": "123/CAX", "ngay_tra_loi": "2026-03-03"}
SYSTEM = Actor.system()


def deploy_library(rt, key: str = KEY):
    """Publish the library procedure's newest version (the one with the message waits)."""
    [procedure] = [p for p in library.procedures() if p.key == key]
    return library.load_one(rt, procedure)


def deploy_with_police_system(rt):
    return deploy_library(rt, KEY)


def open_step(rt, dossier_id):
    from sqlalchemy import select

    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
            )
        ).first()


def work_until_waiting(rt, dossier, answers: list[dict]):
    """Claim and complete the open steps with these answers, in turn; then nothing is open."""
    for data in answers:
        item = open_step(rt, dossier.id)
        dossiers.claim_work_item(rt, item.id, SYSTEM)
        dossiers.complete_work_item(rt, item.id, SYSTEM, data)
    assert open_step(rt, dossier.id) is None
    return dossier


def bring_to_police_step(rt, definition, unit_code="00070"):
    """Receive the dossier and run it through appraisal and signing: it then waits for the police."""
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code=unit_code, applicant_name="Trần Thị B", actor=SYSTEM
    )
    return work_until_waiting(rt, dossier, [{"ket_qua": "tiep_nhan"}, {"ket_qua": "dat"}, {"ket_qua": "duyet"}])
