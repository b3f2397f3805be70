"""A new dossier's row written on the driver's cursor (engine.store.change_rows.insert_new) is the
row the ORM's flush would write, and the object is left as that flush leaves it."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import inspect
from sqlalchemy import select

from engine.store import change_rows
from engine.store import repositories
from engine.store.records import DossierRecord
from tests.factories import add_units
from tests.factories import deploy_fixture

_AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def _dossier(definition_id: int, code: str) -> DossierRecord:
    dossier = DossierRecord(
        code=code,
        definition_id=definition_id,
        unit_code="00070",
        procedure_code=None,
        applicant_name="Nguyễn Văn A",
        applicant={"name": "Nguyễn Văn A", "cccd": "001"},
        channel="online",
        status=2,
        variant_id=None,
        overrides=None,
        run_state="running",
        received_at=_AT,
        clock_start_at=_AT,
        appointment_at=None,
        original_appointment_at=None,
        state="",
        state_format="v1",
        created_at=_AT,
        updated_at=_AT,
    )
    change_rows.null_unset_columns(dossier)
    return dossier


def _row(s, dossier_id: int) -> dict:
    table = DossierRecord.__table__
    row = s.execute(select(table).where(table.c.id == dossier_id)).mappings().one()
    return {key: value for key, value in row.items() if key not in ("id", "code")}


def test_the_row_and_the_object_are_the_flushs(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    with runtime.db.session() as s:
        by_orm = _dossier(definition.id, "ORM-1")
        s.add(by_orm)
        s.flush()
        by_driver = _dossier(definition.id, "DRIVER-1")
        s.add(by_driver)
        change_rows.insert_new(s, by_driver)

        state = inspect(by_driver)
        assert state.persistent and by_driver not in s.new and not s.dirty
        assert by_driver.id is not None and by_driver.version == 1
        assert s.get(DossierRecord, by_driver.id) is by_driver  # in the identity map, no query
        by_driver.status = 3  # a later change of it is an UPDATE the unit of work checks by version
        s.flush()
        assert by_driver.version == 2
        driver_id, orm_id = by_driver.id, by_orm.id
    with runtime.db.session() as s:
        written = _row(s, driver_id)
        assert written.pop("status") == 3 and written.pop("version") == 2
        expected = _row(s, orm_id)
        expected.pop("status"), expected.pop("version")
        assert written == expected


def test_a_rolled_back_change_leaves_no_row(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    with pytest.raises(RuntimeError), runtime.db.session() as s:
        dossier = _dossier(definition.id, "GONE-1")
        s.add(dossier)
        change_rows.insert_new(s, dossier)
        raise RuntimeError("refused later in the change")
    with runtime.db.session() as s:
        assert s.scalar(select(DossierRecord.id).where(DossierRecord.code == "GONE-1")) is None


def test_a_starts_read_finds_the_version_unit_and_settings(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    with runtime.db.session() as s:
        read = repositories.start_rows(s, definition.id, "00070")
        assert read is not None
        assert (read.definition.id, read.unit.code, read.variant, read.retired) == (definition.id, "00070", None, None)
        assert s.get(type(read.definition), definition.id) is read.definition  # the session's own object
        assert repositories.start_rows(s, definition.id, "99999").unit is None
        assert repositories.start_rows(s, definition.id + 1000, "00070") is None
