"""The modeller's edits of the catalogue on the web: create, change, retire and restore one entry,
each checked exactly as an import checks it (configurator.catalogue) and written with a line of
history (who, when, which fields from what to what) in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from configurator import catalogue
from configurator.catalogue import CatalogueError
from configurator.catalogue import Problem
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import english
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store.catalogue_records import ProcedureRecord


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str
    action: str  # create | update | import | retire | restore
    changes: dict  # field -> [before, after]


def create(rt: Runtime, entry: Mapping, actor: str) -> str:
    """Add an entry (procedure.json format); refused when its key is taken or a field is bad."""
    row = catalogue.checked_row(entry)
    now = rt.clock.now()
    with rt.db.session() as s:
        if catalogue_records.procedure_by_key(s, row["key"]) is not None:
            raise CatalogueError(
                [Problem.of(1, "key", english("'%(key)s' is already in the catalogue"), key=row["key"])]
            )
        s.add(ProcedureRecord(**row, updated_at=now))
        _remember(s, row["key"], now, actor, "create", catalogue.changed_fields(None, row))
    return row["key"]


def update(rt: Runtime, key: str, entry: Mapping, actor: str) -> dict:
    """Change an entry (its key stays); returns the fields that changed, [before, after] each.
    The sources and assumptions an import brought are kept unless `entry` gives its own."""
    now = rt.clock.now()
    with rt.db.session() as s:
        record = _record(s, key)
        row = catalogue.checked_row({"sources": record.sources, "assumptions": record.assumptions, **entry, "key": key})
        changes = catalogue.changed_fields(record, row)
        if changes:
            for name, value in row.items():
                setattr(record, name, value)
            record.updated_at = now
            _remember(s, key, now, actor, "update", changes)
        return changes


def retire(rt: Runtime, key: str, actor: str) -> None:
    """Stop offering the entry for new templates; it stays readable, with its templates and dossiers."""
    _set_retired(rt, key, actor, retired=True)


def restore(rt: Runtime, key: str, actor: str) -> None:
    _set_retired(rt, key, actor, retired=False)


def history(rt: Runtime, key: str) -> list[Change]:
    """What happened to the entry, newest first."""
    with rt.db.read_session() as s:
        _record(s, key)
        return [Change(c.at, c.actor, c.action, dict(c.changes or {})) for c in catalogue_records.changes_of(s, key)]


def _set_retired(rt: Runtime, key: str, actor: str, *, retired: bool) -> None:
    now = rt.clock.now()
    with rt.db.session() as s:
        record = _record(s, key)
        if retired and record.retired_at is not None:
            raise InvalidAction("the procedure '%(key)s' is already retired", key=key)
        if not retired and record.retired_at is None:
            raise InvalidAction("the procedure '%(key)s' is not retired", key=key)
        record.retired_at = now if retired else None
        _remember(s, key, now, actor, "retire" if retired else "restore", {})


def _record(s, key: str) -> ProcedureRecord:
    record = catalogue_records.procedure_by_key(s, key)
    if record is None:
        raise NotFound("no procedure '%(key)s' in the catalogue", field="key", key=key)
    return record


def _remember(s, key: str, at: datetime, actor: str, action: str, changes: dict) -> None:
    catalogue_records.add_changes(
        s, [{"procedure_key": key, "at": at, "actor": actor, "action": action, "changes": changes}]
    )
