"""`loaded_rows.set_columns` leaves an object as the same attribute sets would: the same history
(what a flush and `change_rows.write` compare), the same loaded values, modified in its session,
and the same row once flushed; `loaded_rows.add_built` leaves a session as `Session.add` does;
`loaded_rows.read_columns` reads what the attributes read, an unloaded column loaded.
Both reach into SQLAlchemy's instance state and session (pinned): these fail when the library's
own sets and adds leave something else."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import validates
from sqlalchemy.orm.attributes import instance_state

from engine.services import dossiers
from engine.store import change_rows
from engine.store.loaded_rows import _cascades
from engine.store.loaded_rows import _plain_columns
from engine.store.loaded_rows import add_built
from engine.store.loaded_rows import built
from engine.store.loaded_rows import read_columns
from engine.store.loaded_rows import set_columns
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import UTCDateTime
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

_AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
_LATER = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "row"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data: Mapped[dict | None] = mapped_column(JSON)
    shout: Mapped[str | None] = mapped_column(String(20))

    __mapper_args__ = {"version_id_col": version}

    @validates("shout")
    def _upper(self, _key, value):
        return value.upper() if value else value


_VALUES = {"name": "b", "at": _LATER, "data": {"x": 2}, "shout": "hey"}


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([_Row(id=n, name="a", at=_AT, data={"x": 1}, shout=None) for n in (1, 2)])
        s.commit()
        yield s
    engine.dispose()


def _state_of(obj) -> tuple:
    state = instance_state(obj)
    loaded = {key: value for key, value in state.dict.items() if not key.startswith("_") and key != "id"}
    # Without loading what is unloaded (a load would flush first).
    histories = {key: tuple(state.attrs[key].history) for key in ("name", "at", "data", "shout")}
    return loaded, dict(state.committed_state), state.modified, histories


@pytest.mark.parametrize("values", [_VALUES, {"name": "a", "at": _AT}, {"data": None, "name": "a"}])
def test_a_persistent_objects_state_and_row_are_the_attribute_sets(session, values):
    by_attributes, by_columns = session.get(_Row, 1), session.get(_Row, 2)
    session.expire(by_attributes, ["at"])  # an unloaded column set without being read
    session.expire(by_columns, ["at"])
    for key, value in values.items():
        setattr(by_attributes, key, value)
    set_columns(by_columns, values)
    assert _state_of(by_columns) == _state_of(by_attributes)
    assert set(session.dirty) == {by_attributes, by_columns}
    session.commit()
    rows = session.execute(select(_Row.name, _Row.at, _Row.data, _Row.shout, _Row.version).order_by(_Row.id)).all()
    assert rows[0] == rows[1]


def test_a_new_objects_state_is_the_attribute_sets(session):
    by_attributes, by_columns = _Row(id=3, name="a"), _Row(id=4, name="a")
    for key, value in _VALUES.items():
        setattr(by_attributes, key, value)
    set_columns(by_columns, _VALUES)
    assert _state_of(by_columns) == _state_of(by_attributes)


def test_a_column_with_a_listener_is_set_through_it(session):
    row = session.get(_Row, 1)
    set_columns(row, {"shout": "hey", "name": "b"})
    assert (row.shout, row.name) == ("HEY", "b")
    assert "shout" not in _plain_columns(_Row)


@pytest.mark.parametrize("record", [WorkItemRecord, DossierRecord])
def test_every_column_a_change_sets_takes_the_short_way(record):
    # The primary key and the version keep their history actively (the ORM's own rule): never set by a change.
    columns = {attribute.key for attribute in inspect(record).column_attrs} - {"id", "version"}
    assert _plain_columns(record) == columns


def test_columns_read_from_the_state_are_what_the_attributes_read(session):
    columns = ("id", "version", "name", "at", "data", "shout")
    changed, expired, new = session.get(_Row, 1), session.get(_Row, 2), _Row(id=3, name="c")
    changed.name = "b"
    session.expire(expired, ["at", "data"])  # read again from the row when asked
    session.add(new)  # its unset columns read as None
    row = {"version": 1, "at": _AT, "data": {"x": 1}, "shout": None}
    assert read_columns(changed, columns) == {**row, "id": 1, "name": "b"}
    assert read_columns(expired, columns) == {**row, "id": 2, "name": "a"}
    assert read_columns(new, columns) == {name: getattr(new, name) for name in columns}
    assert "at" in instance_state(expired).dict  # loaded by the read, as by the attribute


def test_a_built_object_is_added_as_session_add_adds_it(session):
    attached = []
    event.listen(session, "after_attach", lambda _session, obj: attached.append(obj))
    first, by_add, second = (built(_Row, {"id": n, "name": f"n{n}", "version": 1}) for n in (3, 4, 5))
    add_built(session, first)
    session.add(by_add)
    add_built(session, second)
    states = [instance_state(obj) for obj in (first, by_add, second)]
    assert [state.insert_order for state in states] == [1, 2, 3]
    assert [(state.pending, state.session_id, state._orphaned_outside_of_session) for state in states] == [
        (True, session.hash_key, False)
    ] * 3
    assert set(session.new) == {first, by_add, second} and attached == [first, by_add, second]
    session.commit()
    assert session.scalars(select(_Row.name).where(_Row.id > 2).order_by(_Row.id)).all() == ["n3", "n4", "n5"]


def test_a_step_takes_the_short_way_and_a_record_that_cascades_does_not():
    assert not _cascades(WorkItemRecord) and not _cascades(DossierRecord)  # a start adds its dossier the short way
    assert _cascades(AuditEventRecord)  # its step: added through Session.add, which cascades to it


def _moved_step(rt, dossier_id: int, write) -> tuple:
    """A dossier's open step moved on in a savepoint whose rows `write` writes, as it stands then
    and once the savepoint rolled back (which expires only what its transaction was told of)."""
    with rt.db.session() as s:
        step = s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id)).one()
        savepoint = s.begin_nested()
        step.priority, step.next_sla_at = 5, _LATER
        write(s)
        state = instance_state(step)
        written = (dict(state.committed_state), state.modified, step in s.dirty, step.version, step.priority)
        savepoint.rollback()
        return written, {"priority", "version"} & state.unloaded


def test_a_step_written_by_change_rows_is_left_as_the_flush_leaves_it(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    dossier_id = dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    ).id
    by_flush = _moved_step(runtime, dossier_id, lambda s: s.flush())
    assert by_flush == (({}, False, False, 2, 5), {"priority", "version"})  # a rollback expires what was written
    assert _moved_step(runtime, dossier_id, change_rows.write) == by_flush
