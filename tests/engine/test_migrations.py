"""The migrations build exactly the schema the records describe, and go down and up again."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import engine.store.all_records  # noqa: F401
from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.store import dossier_queries
from engine.store import migrate
from engine.store import statistics
from engine.store.base import Base
from engine.store.database import Database
from engine.store.database import make_engine
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


def test_migrated_schema_matches_the_records(database):
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert migrate.current(database.engine) is not None


def test_every_index_built_by_the_migrations_is_the_one_the_records_declare(database, tmp_path):
    """Conditions and column orders included, which alembic's comparison above does not compare: a
    partial index whose migration wrote its condition by hand (0045's held steps) must say what the
    queries' statements prove, or the planner stops using it without any error."""
    from_models = _from_models(database, tmp_path)
    try:
        assert _index_texts(database.engine) == _index_texts(from_models)
    finally:
        _drop_from_models(from_models, database)


def _from_models(database: Database, tmp_path):
    if database.engine.dialect.name == "sqlite":
        db_engine = make_engine(f"sqlite:///{tmp_path / 'from_models.sqlite3'}")
    else:
        name = f"motcua_test_{uuid.uuid4().hex[:10]}"
        with _server_admin(database) as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db_engine = make_engine(database.engine.url.set(database=name).render_as_string(hide_password=False))
    Base.metadata.create_all(db_engine)
    return db_engine


def _drop_from_models(db_engine, database: Database) -> None:
    db_engine.dispose()
    if db_engine.dialect.name != "sqlite":
        with _server_admin(database) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_engine.url.database}" WITH (FORCE)'))


@contextmanager
def _server_admin(database: Database):
    admin = create_engine(database.engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def _index_texts(db_engine) -> dict[str, str]:
    """Each index's definition as the database keeps it (alembic's own table left out)."""
    if db_engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
    with db_engine.connect() as conn:
        return {name: " ".join(sql.replace('"', "").split()) for name, sql in conn.execute(text(query))}


def test_downgrade_to_base_and_upgrade_again(sqlite_database):
    migrate.downgrade(sqlite_database.engine, "base")
    assert [t for t in inspect(sqlite_database.engine).get_table_names() if t != "alembic_version"] == []
    migrate.upgrade(sqlite_database.engine)
    assert set(inspect(sqlite_database.engine).get_table_names()) >= {"dossier", "work_item", "audit_event", "outbox"}


@pytest.mark.postgres
def test_week_rollups_analysed_only_where_there_are_rows(postgres_server_url):
    """A new database's empty rollup table is left for autovacuum to analyse: statistics of an
    empty table planned every step's rollup statements for an empty table as it grew, where
    autovacuum is off. A database with days gets its weeks, and then the statistics."""
    with scratch_postgres(postgres_server_url) as db_engine:
        migrate.upgrade(db_engine)
        assert _rollup_rows_estimate(db_engine) < 0  # never analysed

        migrate.downgrade(db_engine, "0037")
        with db_engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO figure_rollup (grain, day, unit_code, definition_id, received) "
                    "VALUES ('d', '2026-12-02', '00070', 1, 3), ('d', '2026-12-04', '00070', 1, 2)"
                )
            )
        migrate.upgrade(db_engine)
        with db_engine.connect() as conn:
            weeks = conn.execute(text("SELECT day, received FROM figure_rollup WHERE grain = 'w'")).all()
        assert weeks == [(date(2026, 11, 30), 5)]
        assert _rollup_rows_estimate(db_engine) >= 0  # analysed


def _rollup_rows_estimate(db_engine) -> float:
    with db_engine.connect() as conn:
        return conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'figure_rollup'")).scalar_one()


@contextmanager
def scratch_postgres(server_url: str):
    name = f"motcua_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_engine = make_engine(server_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield db_engine
    finally:
        db_engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_dossier_state_compressed_with_lz4_and_default_again_below(postgres_server_url):
    """A dossier's workflow state, written again by every change, is compressed with lz4 (cheaper
    to write than PostgreSQL's default pglz; every PostgreSQL test reads states back through it);
    going below the migration restores the default."""
    with scratch_postgres(postgres_server_url) as db_engine:
        migrate.upgrade(db_engine)
        assert _state_compression(db_engine) == "l"
        migrate.downgrade(db_engine, "0038")
        assert _state_compression(db_engine) == ""


def _state_compression(db_engine) -> str:
    with db_engine.connect() as conn:
        return conn.execute(
            text("SELECT attcompression FROM pg_attribute WHERE attrelid = 'dossier'::regclass AND attname = 'state'")
        ).scalar_one()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated(request):
    """A database at the head that the test may take down and up again: a SQLite file of its own,
    or a scratch PostgreSQL database (the shared one of `database` must stay at the head)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_database")
    else:
        with _migrated_postgres(request.getfixturevalue("postgres_server_url")) as db:
            yield db


def test_open_steps_get_their_dossiers_code_and_applicant(migrated, clock):
    _steps_filled_in_again(migrated, clock)


@contextmanager
def _migrated_postgres(server_url: str):
    """A Database on a scratch PostgreSQL database migrated to the head, disposed of afterwards."""
    with scratch_postgres(server_url) as db_engine:
        migrate.upgrade(db_engine)
        db = Database(db_engine.url.render_as_string(hide_password=False))
        try:
            yield db
        finally:
            db.dispose()


def _steps_filled_in_again(db: Database, clock) -> None:
    """Migration 0041 on a database with steps: the open ones carry their dossier's code and
    applicant (the inbox's search reads them), the closed ones nothing."""
    rt = Runtime(db=db, clock=clock, worker_id="test-worker")
    add_units(rt)
    five = deploy_fixture(rt, "five_steps")
    received = [
        dossiers.start_dossier(rt, definition_id=five.id, unit_code="00070", applicant_name=name, actor=RECEPTION)
        for name in ("Lê Văn Cường", "Trần Thị Bích")
    ]
    with db.read_session() as s:
        [first] = list(dossier_queries.dossier_steps(s, received[0].id))
    dossiers.claim_work_item(rt, first.id, RECEPTION)
    dossiers.complete_work_item(rt, first.id, RECEPTION, {})

    migrate.downgrade(db.engine, "0040")
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        steps = conn.execute(text("SELECT dossier_id, state, dossier_code, applicant_name FROM work_item")).all()
    codes = {d.id: (d.code, d.applicant_name) for d in received}
    assert sorted((d, state, (code, name)) for d, state, code, name in steps) == [
        (received[0].id, "completed", (None, None)),
        (received[0].id, "open", codes[received[0].id]),
        (received[1].id, "open", codes[received[1].id]),
    ]


def test_period_index_holds_only_the_period_events_on_sqlite_and_all_below(sqlite_database, clock):
    """Migrations 0043 and 0044 on a database with events: SQLite's ix_audit_event_at keeps only
    the actions the reports read by period, and a report still finds a level fired before the
    migration; going below 0043 indexes every event again, below 0044 keeps 0043's list."""
    db = sqlite_database
    rt = Runtime(db=db, clock=clock, worker_id="test-worker")
    add_units(rt)
    five = deploy_fixture(rt, "five_steps")
    dossier = dossiers.start_dossier(
        rt, definition_id=five.id, unit_code="00070", applicant_name="Lê Văn Cường", actor=RECEPTION
    )
    migrate.downgrade(db.engine, "0042")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (dossier_id, at, action, actor, detail) "
                "VALUES (:dossier, :at, 'sla_warning', 'system', '{}')"
            ),
            {"dossier": dossier.id, "at": clock.now().replace(tzinfo=None)},
        )
    every_event = _events(db)
    assert every_event > 1  # the start's and the level's
    assert _period_index_entries(db) == every_event

    migrate.upgrade(db.engine)
    assert _period_index_entries(db) == 1
    scope = statistics.Scope(frozenset({"00070"}), clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
    with db.read_session() as s:
        assert [line.action for line in statistics.escalations(s, scope)] == ["sla_warning"]

    migrate.downgrade(db.engine, "0043")
    assert _period_index_entries(db) == 1
    migrate.downgrade(db.engine, "0042")
    assert _period_index_entries(db) == every_event == _events(db)


def _events(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM audit_event")).scalar_one()


def _period_index_entries(db: Database) -> int:
    """The entries of ix_audit_event_at, read from the index alone (SQLite refuses INDEXED BY an
    index the query cannot use: a partial one needs its condition among the query's terms)."""
    with db.engine.connect() as conn:
        condition = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_audit_event_at'")).scalar_one()
        where = condition.split(" WHERE ", 1)[1] if " WHERE " in condition else "at IS NOT NULL"
        return conn.execute(
            text(f"SELECT COUNT(*) FROM audit_event INDEXED BY ix_audit_event_at WHERE {where}")
        ).scalar_one()


def test_steps_and_their_events_kept_and_a_task_once_per_dossier(migrated, clock):
    _task_unique_per_dossier(migrated, clock)


def _task_unique_per_dossier(db: Database, clock) -> None:
    """Migration 0045 down and up on a database whose audit events name their steps (SQLite builds
    both tables again): every step and event is kept, a task is projected once into its dossier,
    and a dossier with a history still cannot be deleted (since migration 0046 by its own trigger
    rather than the event's foreign key)."""
    rt, received, first = _dossier_with_its_first_step_claimed(db, clock)
    dossiers.complete_work_item(rt, first.id, RECEPTION, {})
    before = _steps_and_events(db)

    migrate.downgrade(db.engine, "0044")
    assert _steps_and_events(db) == before
    migrate.upgrade(db.engine)
    assert _steps_and_events(db) == before

    copy = (
        "INSERT INTO work_item (dossier_id, task_id, element_id, name, unit_code, state, priority, created_at,"
        " escalation_level, version) SELECT dossier_id, task_id, element_id, name, unit_code, state, priority,"
        " created_at, escalation_level, version FROM work_item WHERE id = :id"
    )
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(copy), {"id": first.id})
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM dossier WHERE id = :id"), {"id": received.id})


def test_dossiers_kept_by_their_trigger_and_by_the_keys_below(migrated, clock):
    _dossiers_kept(migrated, clock)


def _dossiers_kept(db: Database, clock) -> None:
    """Migration 0046 down and up on a database with steps and events (SQLite builds both tables
    again): every row is kept; at the head the dossier's trigger refuses its deletion and a change
    of its id with words that say why, while the engine's own updates of it go through; below,
    the steps' and events' foreign keys refuse a dossier that does not exist again, and the full
    index of the open dossiers' appointments is back."""
    rt, received, first = _dossier_with_its_first_step_claimed(db, clock)
    before = _steps_and_events(db)

    migrate.downgrade(db.engine, "0045")
    assert _steps_and_events(db) == before
    assert "ix_dossier_open_appointment" in _dossier_indexes(db)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(_EVENT_OF_NO_DOSSIER), {"at": clock.now()})
    migrate.upgrade(db.engine)
    assert _steps_and_events(db) == before
    assert "ix_dossier_open_appointment" not in _dossier_indexes(db)

    for refused in ("DELETE FROM dossier WHERE id = :id", "UPDATE dossier SET id = id + 1000 WHERE id = :id"):
        with pytest.raises(IntegrityError, match="a dossier is kept with its steps and audit trail"):
            with db.engine.begin() as conn:
                conn.execute(text(refused), {"id": received.id})
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE dossier SET id = id, applicant_name = 'Lê Văn C.' WHERE id = :id"), {"id": received.id}
        )
    dossiers.complete_work_item(rt, first.id, RECEPTION, {})
    with db.engine.connect() as conn:
        kept = conn.execute(text("SELECT id, applicant_name FROM dossier")).all()
        steps = conn.execute(text("SELECT DISTINCT dossier_id FROM work_item")).scalars().all()
    assert kept == [(received.id, "Lê Văn C.")]
    assert steps == [received.id]


def _dossier_with_its_first_step_claimed(db: Database, clock):
    """A five-step dossier received at a commune, its first step claimed: steps and audit events
    naming their dossier and step, for the migrations that build those tables again."""
    rt = Runtime(db=db, clock=clock, worker_id="test-worker")
    add_units(rt)
    five = deploy_fixture(rt, "five_steps")
    received = dossiers.start_dossier(
        rt, definition_id=five.id, unit_code="00070", applicant_name="Lê Văn Cường", actor=RECEPTION
    )
    with db.read_session() as s:
        [first] = list(dossier_queries.dossier_steps(s, received.id))
    dossiers.claim_work_item(rt, first.id, RECEPTION)
    return rt, received, first


def _dossier_indexes(db: Database) -> set[str]:
    return {index["name"] for index in inspect(db.engine).get_indexes("dossier")}


_EVENT_OF_NO_DOSSIER = (
    "INSERT INTO audit_event (dossier_id, at, action, actor, detail) VALUES (-1, :at, 'claim', 'x', '{}')"
)


def _steps_and_events(db: Database) -> tuple[list, list]:
    with db.engine.connect() as conn:
        steps = conn.execute(text("SELECT id, dossier_id, task_id, state FROM work_item ORDER BY id")).all()
        events = conn.execute(text("SELECT id, work_item_id, action FROM audit_event ORDER BY id")).all()
    return steps, events
