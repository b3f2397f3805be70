"""Atomic daily sequences for dossier codes, safe under concurrent receptions."""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from engine.store.records import DossierSequenceRecord


def next_value(session: Session, agency_code: str, day: date) -> int:
    """Increment and return the day's counter in one statement (INSERT ... ON CONFLICT)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DossierSequenceRecord.__table__
    stmt = dialect.insert(table).values(agency_code=agency_code, day=day, last_value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.agency_code, table.c.day],
        set_={"last_value": table.c.last_value + 1},
    ).returning(table.c.last_value)
    return session.execute(stmt).scalar_one()
