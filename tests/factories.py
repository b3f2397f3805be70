"""Builders for test data with sensible defaults."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy import event

from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.store.database import Database
from engine.store.records import UnitRecord
from engine.store.records import UserRecord

BPMN_DIR = Path(__file__).with_name("bpmn")

RECEPTION = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")
SPECIALIST = Actor("chuyen_vien_1", frozenset({"chuyen_vien"}), "00070")
SPECIALIST_2 = Actor("chuyen_vien_2", frozenset({"chuyen_vien"}), "00070")
LEADER = Actor("lanh_dao_1", frozenset({"lanh_dao"}), "00070")
OTHER_COMMUNE = Actor("chuyen_vien_x", frozenset({"chuyen_vien"}), "00073")


def add_units(rt: Runtime) -> None:
    with rt.db.session() as s:
        if s.get(UnitRecord, "01") is None:  # tests that seed all of Hà Nội first already have them
            s.add(UnitRecord(code="01", name="Thành phố Hà Nội", kind="province", parent_code=None, agency_code="01"))
            s.flush()
            s.add(
                UnitRecord(
                    code="00070", name="Phường Hoàn Kiếm", kind="commune", parent_code="01", agency_code="01.00070"
                )
            )
            s.add(
                UnitRecord(
                    code="00073", name="Phường Cửa Nam", kind="commune", parent_code="01", agency_code="01.00073"
                )
            )
        for actor in (RECEPTION, SPECIALIST, SPECIALIST_2, LEADER, OTHER_COMMUNE):
            s.add(
                UserRecord(
                    username=actor.username,
                    full_name=actor.username,
                    unit_code=actor.unit_code,
                    roles=" ".join(sorted(actor.roles)),
                )
            )


def deploy_fixture(rt: Runtime, fixture: str, **kwargs):
    files = {f"{fixture}.bpmn": (BPMN_DIR / f"{fixture}.bpmn").read_bytes()}
    return definitions.deploy(rt, files, **kwargs)


@contextmanager
def scratch_tables(metadata: MetaData, db: Database) -> Iterator[Database]:
    """`metadata`'s tables made on `db` for one test, and dropped after it whatever it did."""
    metadata.create_all(db.engine)
    try:
        yield db
    finally:
        metadata.drop_all(db.engine)


def started_five_steps(rt: Runtime) -> int:
    """The id of a dossier started on five_steps.bpmn in commune 00070 (units and the definition
    made first)."""
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps")
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    ).id


def select_statements(db: Database, read) -> list[tuple[str, object]]:
    """The SELECT statements `read(session)` sends, each with its parameters as the driver got them."""
    return sent_statements(db, read, "SELECT")


def sent_statements(db: Database, act, verb: str) -> list[tuple[str, object]]:
    """The statements beginning with `verb` that `act(session)` sends, each with its parameters as
    the driver got them."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(verb):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.session() as s:
            act(s)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen
