"""Reads for the modeller's procedure list: the newest template version of each listed procedure
and the fields (lĩnh vực) the catalogue holds, for the filter."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.catalogue_records import ProcedureRecord
from engine.store.records import ProcessDefinitionRecord


def newest_versions(session: Session, keys: list[str]) -> dict[str, ProcessDefinitionRecord]:
    """key -> the template's newest version (any status), for the keys that have one."""
    if not keys:
        return {}
    newest = (
        select(ProcessDefinitionRecord.key, func.max(ProcessDefinitionRecord.version).label("version"))
        .where(ProcessDefinitionRecord.key.in_(keys))
        .group_by(ProcessDefinitionRecord.key)
        .subquery()
    )
    rows = session.scalars(
        select(ProcessDefinitionRecord).join(
            newest,
            (newest.c.key == ProcessDefinitionRecord.key) & (newest.c.version == ProcessDefinitionRecord.version),
        )
    )
    return {row.key: row for row in rows}


def field_choices(session: Session) -> list[tuple[str, str]]:
    """(field code or name, field name) of every field in the catalogue, by name."""
    rows = session.execute(
        select(ProcedureRecord.field_code, ProcedureRecord.field_name)
        .where(ProcedureRecord.field_name.is_not(None))
        .distinct()
        .order_by(ProcedureRecord.field_name)
    )
    return [(code or name, name) for code, name in rows]
