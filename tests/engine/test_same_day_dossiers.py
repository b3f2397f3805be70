"""A same-day procedure at the desk (both databases): the receipt's appointment is the end of the
day (after the 15:00 cut-off, the next working day's end), and waiting for the citizen's missing
papers moves it later by the working time waited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator import library
from engine.domain import deadlines
from engine.domain.assignment import Actor
from engine.services import dossiers
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import RECEPTION
from tests.factories import add_units

BIRTH = next(p for p in library.procedures() if p.key == "dang_ky_khai_sinh")
RECEPTION_CLERK = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")


@pytest.fixture
def birth(runtime):
    add_units(runtime)
    return library.load_one(runtime, BIRTH)


def receive(rt, definition) -> DossierRecord:
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )


def reload(rt, dossier_id) -> DossierRecord:
    with rt.db.read_session() as s:
        return s.get(DossierRecord, dossier_id)


def open_item(rt, dossier_id) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        )


def test_birth_registration_is_published_as_a_same_day_procedure(birth):
    assert deadlines.is_same_day(birth.legal_limit_minutes) and birth.clock_cutoff == "15:00"


def test_received_tuesday_morning_is_due_tuesday_evening(runtime, birth, clock):
    clock.set(vn(2026, 12, 1, 10, 0))
    dossier = receive(runtime, birth)
    assert (dossier.clock_start_at, dossier.appointment_at) == (vn(2026, 12, 1, 10, 0), vn(2026, 12, 1, 17, 0))
    assert reload(runtime, dossier.id).original_appointment_at == vn(2026, 12, 1, 17, 0)


def test_received_after_the_cut_off_is_due_the_next_evening(runtime, birth, clock):
    clock.set(vn(2026, 12, 1, 15, 30))
    dossier = receive(runtime, birth)
    assert (dossier.clock_start_at, dossier.appointment_at) == (vn(2026, 12, 2, 8, 0), vn(2026, 12, 2, 17, 0))


def test_received_friday_after_the_cut_off_before_national_day_is_due_thursday(runtime, birth, clock):
    clock.set(vn(2026, 8, 28, 15, 30))  # Mon 31 Aug (swapped day), Tue 1 and Wed 2 Sep are off
    assert receive(runtime, birth).appointment_at == vn(2026, 9, 3, 17, 0)


def test_a_supplement_wait_moves_a_same_day_appointment(runtime, birth, clock):
    clock.set(vn(2026, 12, 1, 10, 0))
    dossier = receive(runtime, birth)
    clock.set(vn(2026, 12, 1, 11, 0))
    dossiers.complete_work_item(runtime, open_item(runtime, dossier.id).id, RECEPTION_CLERK, {"ket_qua": "bo_sung"})
    clock.set(vn(2026, 12, 2, 9, 0))  # the citizen brings the papers the next morning
    dossiers.complete_work_item(
        runtime, open_item(runtime, dossier.id).id, RECEPTION_CLERK, {"da_bo_sung_day_du": True}
    )

    resumed = reload(runtime, dossier.id)
    # Waited 11:00-12:00 and 13:00-17:00 on Tuesday, 08:00-09:00 on Wednesday: 6 working hours.
    assert resumed.appointment_at == resumed.original_appointment_at == vn(2026, 12, 2, 15, 0)
