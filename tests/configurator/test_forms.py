"""Step forms validate what a clerk submits and name the wrong field."""

from __future__ import annotations

import pytest

from configurator import library
from configurator.forms import FormDefinitionError
from configurator.forms import FormError
from configurator.forms import field_list
from configurator.forms import validate_submission

[BIRTH] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
RECEPTION_FORM = BIRTH.forms("v1")["tiep_nhan"]
GOOD = {
    "nguoi_nop": "Nguyễn Văn An",
    "so_giay_to_tuy_than": "001234567890",
    "hinh_thuc_nop": "truc_tiep",
    "ket_qua": "tiep_nhan",
    "thoi_diem_tiep_nhan": "2026-03-02T08:15:00+07:00",
}


def test_a_complete_reception_form_is_accepted_and_kept_as_json_values():
    clean = validate_submission(RECEPTION_FORM, GOOD)
    assert clean["ket_qua"] == "tiep_nhan" and clean["thoi_diem_tiep_nhan"].startswith("2026-03-02T08:15")


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"ket_qua": "duyet"}, "ket_qua", "Must be one of"),
        ({"so_giay_to_tuy_than": "12ab"}, "so_giay_to_tuy_than", "expected form"),
        ({"nguoi_nop": None}, "nguoi_nop", "null"),
        ({"thoi_diem_tiep_nhan": "hôm qua"}, "thoi_diem_tiep_nhan", "datetime"),
        ({"truong_la": "x"}, "truong_la", "Unknown field"),
    ],
)
def test_wrong_fields_are_named(change, field, words):
    with pytest.raises(FormError) as info:
        validate_submission(RECEPTION_FORM, {**GOOD, **change})
    assert field in info.value.errors and words.lower() in " ".join(info.value.errors[field]).lower()


def test_a_missing_required_field_is_named():
    data = dict(GOOD)
    del data["hinh_thuc_nop"]
    with pytest.raises(FormError) as info:
        validate_submission(RECEPTION_FORM, data)
    assert info.value.field == "hinh_thuc_nop"


def test_every_library_form_builds_and_lists_its_fields():
    for procedure in library.procedures():
        for name, form in procedure.forms("v1").items():
            fields = field_list(form)
            assert fields and all(f["title"] for f in fields), (procedure.key, name)
            with pytest.raises(FormError):
                validate_submission(form, {"__unknown__": 1})


def test_a_broken_form_definition_is_refused():
    with pytest.raises(FormDefinitionError, match="required fields missing"):
        validate_submission({"required": ["x"], "properties": {}}, {})


def test_completing_a_step_checks_its_form_before_anything_moves(runtime):
    from sqlalchemy import select

    from configurator.steps import complete_step
    from engine.domain.assignment import Actor
    from engine.services import dossiers
    from engine.store.records import WorkItemRecord
    from tests.factories import add_units

    add_units(runtime)
    definition = library.load_one(runtime, BIRTH)
    reception = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")
    dossier = dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn An", actor=reception
    )
    with runtime.db.read_session() as s:
        item = s.scalar(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id))
    with pytest.raises(FormError) as info:
        complete_step(runtime, item.id, reception, {**GOOD, "ket_qua": "duyet"})
    assert info.value.field == "ket_qua"
    with runtime.db.read_session() as s:
        assert s.get(WorkItemRecord, item.id).state == "open"
    complete_step(runtime, item.id, reception, GOOD)
    with runtime.db.read_session() as s:
        assert s.get(WorkItemRecord, item.id).outcome["so_giay_to_tuy_than"] == "001234567890"
