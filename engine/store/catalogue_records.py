"""The procedure catalogue (danh mục TTHC): one row per procedure, keyed by its business key.

The key is also the BPMN process id of the procedure's template, so the versions of a catalogue
entry are the process definitions with that key. Portal codes (`1.001193`, `1.000948.H38`) are
sometimes unknown when a procedure is first modelled: the code is indexed but may be empty.
Searching is case- and accent-insensitive through `search_text`, a normalised ASCII copy of the
name, code and key written by the configurator (`configurator.catalogue.normalise`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Float
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UTCDateTime


class ProcedureRecord(Base):
    """A catalogue entry: what the law says about a procedure, independent of how it is modelled."""

    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # = the template's BPMN process id
    code: Mapped[str | None] = mapped_column(String(40), index=True)  # mã TTHC, when known
    name: Mapped[str] = mapped_column(String(500))
    field_code: Mapped[str | None] = mapped_column(String(40), index=True)  # mã lĩnh vực (Portal)
    field_name: Mapped[str | None] = mapped_column(String(300))
    field_search: Mapped[str | None] = mapped_column(String(300), index=True)  # normalised field name
    level: Mapped[str] = mapped_column(String(16), index=True)  # province | commune
    legal_limit_days: Mapped[float | None] = mapped_column(Float)  # working days; 1 day = 8 working hours
    clock_cutoff: Mapped[str | None] = mapped_column(String(5))  # "15:00": later receipts count from next day
    clock_rule: Mapped[str | None] = mapped_column(Text)
    fees: Mapped[list] = mapped_column(JSON, default=list)  # [{name, amount_vnd, note}]
    # The fees are paid before the dossier is processed: until then it waits at status 6, clock stopped.
    fees_before_processing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    required_documents: Mapped[list] = mapped_column(JSON, default=list)  # [{name, copies, original}]
    result: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[list] = mapped_column(JSON, default=list)  # [text]
    online_service_level: Mapped[str | None] = mapped_column(String(20))  # full | partial
    sources: Mapped[list] = mapped_column(JSON, default=list)  # [{fact, url}]
    assumptions: Mapped[list] = mapped_column(JSON, default=list)  # [{field, value, why}]
    forms: Mapped[list] = mapped_column(JSON, default=list)  # [{code, name}]: mẫu đơn, tờ khai
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A retired entry stays readable (its templates and dossiers name it) but gets no new template.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcedureChangeRecord(Base):
    """Append-only history of a catalogue entry: who created, changed, retired or restored it."""

    __tablename__ = "procedure_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_key: Mapped[str] = mapped_column(String(120), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))  # a username, or "import"
    action: Mapped[str] = mapped_column(String(16))  # create | update | import | retire | restore
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]


#: Every column an import writes; `id` is the database's, `retired_at` the modeller's.
IMPORTED_COLUMNS = tuple(c.name for c in ProcedureRecord.__table__.columns if c.name not in ("id", "retired_at"))


def upsert_procedures(session: Session, rows: list[dict]) -> None:
    """Insert new entries and overwrite existing ones (by key) in one statement."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ProcedureRecord.__table__).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={name: getattr(stmt.excluded, name) for name in IMPORTED_COLUMNS if name != "key"},
        )
    )


def procedure_by_key(session: Session, key: str) -> ProcedureRecord | None:
    return session.scalar(select(ProcedureRecord).where(ProcedureRecord.key == key))


def procedure_by_code_or_key(session: Session, code: str) -> ProcedureRecord | None:
    """A catalogue entry by its Portal code (`1.001193`) or, when it has none yet, by its key."""
    return session.scalar(
        select(ProcedureRecord)
        .where(or_(ProcedureRecord.code == code, ProcedureRecord.key == code))
        .order_by(ProcedureRecord.key == code)
        .limit(1)
    )


def retired_entry(session: Session, key: str) -> ProcedureRecord | None:
    """The catalogue entry of template `key` when it is retired (no new dossier starts on it)."""
    return session.scalar(
        select(ProcedureRecord).where(ProcedureRecord.key == key, ProcedureRecord.retired_at.is_not(None))
    )


def retired_keys(session: Session) -> set[str]:
    return set(session.scalars(select(ProcedureRecord.key).where(ProcedureRecord.retired_at.is_not(None))))


def procedures_by_keys(session: Session, keys: list[str]) -> dict[str, ProcedureRecord]:
    found = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update((r.key, r) for r in session.scalars(select(ProcedureRecord).where(ProcedureRecord.key.in_(chunk))))
    return found


def add_changes(session: Session, rows: list[dict]) -> None:
    """Append history rows ({procedure_key, at, actor, action, changes})."""
    if rows:
        session.execute(ProcedureChangeRecord.__table__.insert(), rows)


def changes_of(session: Session, key: str) -> list[ProcedureChangeRecord]:
    """The entry's history, newest first."""
    return list(
        session.scalars(
            select(ProcedureChangeRecord)
            .where(ProcedureChangeRecord.procedure_key == key)
            .order_by(ProcedureChangeRecord.at.desc(), ProcedureChangeRecord.id.desc())
        )
    )


def search_procedures(
    session: Session,
    *,
    words: list[str] = (),
    field: str | None = None,
    field_search: str | None = None,
    level: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ProcedureRecord], int]:
    """Entries whose search text contains every word (already normalised), with the total count.

    `field` matches the Portal field code, `field_search` the normalised field name; either fits.
    """
    conditions = [ProcedureRecord.search_text.contains(word, autoescape=True) for word in words]
    field_matches = ([ProcedureRecord.field_code == field] if field else []) + (
        [ProcedureRecord.field_search == field_search] if field_search else []
    )
    if field_matches:
        conditions.append(or_(*field_matches))
    if level:
        conditions.append(ProcedureRecord.level == level)
    total = session.scalar(select(func.count()).select_from(ProcedureRecord).where(*conditions)) or 0
    query = (
        select(ProcedureRecord)
        .where(*conditions)
        .order_by(ProcedureRecord.name, ProcedureRecord.key)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query)), total


def definitions_of(session: Session, key: str) -> list[ProcessDefinitionRecord]:
    """Every template version of a procedure, oldest first."""
    return list(
        session.scalars(
            select(ProcessDefinitionRecord)
            .where(ProcessDefinitionRecord.key == key)
            .order_by(ProcessDefinitionRecord.version)
        )
    )


def definition_by_version(session: Session, key: str, version: int) -> ProcessDefinitionRecord | None:
    return session.scalar(
        select(ProcessDefinitionRecord).where(
            ProcessDefinitionRecord.key == key, ProcessDefinitionRecord.version == version
        )
    )
