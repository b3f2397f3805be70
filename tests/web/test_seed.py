"""`motcua seed`: the demo opens on Hanoi's communes, every role, the library and live dossiers."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from configurator import catalogue
from configurator import library
from configurator import variants
from engine.documents import FolderStore
from engine.domain.model import OPEN_RUN_STATES
from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.store.attachment_records import AttachmentRecord
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from web import seed


def test_demo_data_covers_communes_roles_procedures_and_dossier_states(sqlite_database, clock, tmp_path):
    rt = Runtime(db=sqlite_database, clock=clock, documents=FolderStore(tmp_path / "documents"))
    assert seed.is_empty(rt)
    seed.seed_units(rt)
    seed.seed_users(rt)
    seed.seed_library(rt)
    rolled = seed.seed_rollouts(rt)
    seed.seed_dossiers(rt, per_procedure=6)
    fired = seed.seed_sla(rt)
    with sqlite_database.read_session() as s:
        communes = s.scalar(select(func.count()).select_from(UnitRecord).where(UnitRecord.kind == "commune"))
        roles = {r for u in s.scalars(select(UserRecord)) for r in u.role_set}
        procedures = s.scalar(select(func.count()).select_from(ProcessDefinitionRecord))
        statuses = set(s.scalars(select(DossierRecord.status).distinct()))
        channels = dict(s.execute(select(DossierRecord.channel, func.count()).group_by(DossierRecord.channel)).all())
        apologised = s.scalar(
            select(func.count())
            .select_from(DossierRecord)
            .where(
                DossierRecord.re_appointment_reason.is_not(None),
                DossierRecord.appointment_at > DossierRecord.original_appointment_at,
            )
        )
        kinds = dict(s.execute(select(AttachmentRecord.kind, func.count()).group_by(AttachmentRecord.kind)).all())
        appraisals = [
            w.outcome
            for w in s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.element_id == "tham_dinh", WorkItemRecord.state == "completed"
                )
            )
        ]
        any_file = s.scalars(select(AttachmentRecord)).first()
        late_open = s.scalar(
            select(func.count())
            .select_from(WorkItemRecord)
            .where(WorkItemRecord.state.in_(["open", "claimed"]), WorkItemRecord.due_at < clock.now())
        )
    assert communes == 126
    assert {"mot_cua", "tu_phap_ho_tich", "lanh_dao", "supervisor", "modeller", "admin"} <= roles
    assert procedures == len(library.procedures())
    # The desk names each document of the checklist from the catalogue, which the seed fills.
    birth = catalogue.get(rt, "dang_ky_khai_sinh")
    assert catalogue.search(rt).total == procedures and birth.required_documents[0]["name"].startswith("Tờ khai")
    assert rolled == 126 * procedures  # every procedure runs in every commune
    drift = {d.unit_code: [str(x) for x in d.differences] for d in variants.drift_report(rt, "dang_ky_khai_sinh")}
    assert drift == {"00070": ["role mot_cua held by mot_cua_00070_1", "step tiep_nhan budget 10m"]}
    assert apologised > 0
    assert fired > 0 and seed.seed_sla(rt) == 0  # the late steps' levels fired, each exactly once
    assert {2, 4, 5, 8, 10} <= statuses
    # About one dossier in seven online, as in Hanoi; a few by post; the rest at the counter.
    assert set(channels) == {"counter", "online", "post"}
    assert 0.12 <= channels["online"] / sum(channels.values()) <= 0.16
    assert late_open > 0
    # Some liên thông dossiers wait for the police's or social insurance's system to answer.
    with sqlite_database.read_session() as s:
        interconnected = list(
            s.scalars(
                select(DossierRecord.id)
                .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
                .where(ProcessDefinitionRecord.key.like("lien_thong_%"), DossierRecord.run_state == "running")
            )
        )
    assert any(dossiers.message_waits(rt, dossier_id) for dossier_id in interconnected)
    # The demo dossiers carry what their steps entered and a few small generated documents.
    assert kinds["reception"] > 0 and kinds["result"] > 0
    assert any(
        len(outcome) >= 4 and any(isinstance(v, str) and " " in v for v in outcome.values()) for outcome in appraisals
    )
    assert rt.documents.get(any_file.storage_key)[:5] in (b"%PDF-", b"\x89PNG")
    assert not seed.is_empty(rt)
    # The open dossiers' queries read `completed_at IS NULL` (their partial indexes): every way a
    # dossier ends sets completed_at with its final run state, and no open dossier has one.
    with sqlite_database.read_session() as s:
        ended_by_state = s.execute(
            select(DossierRecord.run_state, DossierRecord.completed_at.is_not(None), func.count()).group_by(
                DossierRecord.run_state, DossierRecord.completed_at.is_not(None)
            )
        ).all()
    assert {state for state, _, _ in ended_by_state} >= {"running", "completed", "cancelled"}
    assert all(ended == (state not in OPEN_RUN_STATES) for state, ended, _ in ended_by_state), ended_by_state
