"""Daily numbers behind dossier codes (`<agency>-YYMMDD-NNNN`): unique and increasing per agency
and day, gap-tolerant (a start that fails after taking its number leaves that number unused).

On PostgreSQL the number is taken in a short transaction of its own, on a connection apart
(`Database.counter_engine`, autocommit): the agency's counter row is locked for that one
statement, not for the rest of the start (running the process, writing the dossier, its steps
and its history), so concurrent starts in one commune no longer queue behind each other. On
SQLite every write transaction already holds the database's single write lock, and a second
connection would wait for the start itself: there the number is taken inside the start's
transaction, which costs nothing more; except for a start whose template runs code, which takes
its number in a short write of its own before running that code outside the write lock
(engine.services.dossiers).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from engine.store.database import Database
from engine.store.driver_reads import DriverRead
from engine.store.records import DossierSequenceRecord


def next_value(db: Database, session: Session, agency_code: str, day: date) -> int:
    """The agency's next number for the day; `session` is the caller's transaction (used on SQLite)."""
    params = {"agency_code": agency_code, "day": day}
    if db.counter_engine is None:
        return session.execute(_INCREMENTS[session.get_bind().dialect.name], params).scalar_one()
    with db.counter_connection() as conn:  # autocommit: the statement is its own transaction
        return _INCREMENT_ON_ITS_OWN.first(conn, params).last_value


def _increment(dialect):
    """Increment and return the day's counter in one statement (INSERT ... ON CONFLICT)."""
    table = DossierSequenceRecord.__table__
    stmt = dialect.insert(table).values(agency_code=bindparam("agency_code"), day=bindparam("day"), last_value=1)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.agency_code, table.c.day],
        set_={"last_value": table.c.last_value + 1},
    ).returning(table.c.last_value)


# Built once: every start takes a number, and building the statement cost more than sending it.
_INCREMENTS = {"postgresql": _increment(postgresql), "sqlite": _increment(sqlite)}
#: PostgreSQL's, run on the driver's cursor (engine.store.driver_reads: half SQLAlchemy's Python).
_INCREMENT_ON_ITS_OWN = DriverRead(_INCREMENTS["postgresql"])
