"""The dossier read model: one dossier with its template version, unit, catalogue entry and open
steps (`DossierView`), its steps and history, its page on the desk, the unit's register. The desk
and the API read a dossier through here; who may see it is asked of the caller
(`engine.domain.assignment.Actor.may_see_dossier`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.model import OPEN_STATES
from engine.store import repositories
from engine.store.catalogue_records import ProcedureRecord
from engine.store.loaded_rows import read_columns
from engine.store.people_queries import colleagues
from engine.store.people_queries import full_names
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord


@dataclass(frozen=True)
class DossierView:
    """A dossier as every screen and answer shows it."""

    dossier: DossierRecord
    definition: ProcessDefinitionRecord
    unit: UnitRecord
    catalogue: ProcedureRecord | None
    open_items: list[WorkItemRecord]  # its open steps, oldest first


@dataclass(frozen=True)
class HistoryEvent:
    event: AuditEventRecord
    step_name: str | None


_VIEW_ROW = (
    select(DossierRecord, ProcessDefinitionRecord, UnitRecord, ProcedureRecord)
    .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
    .join(UnitRecord, UnitRecord.code == DossierRecord.unit_code)
    .outerjoin(ProcedureRecord, ProcedureRecord.key == ProcessDefinitionRecord.key)
)


def columns_of(row: DossierRecord | WorkItemRecord, keys: tuple[str, ...]) -> dict[str, object]:
    """The named columns of a dossier or step as an answer shows them, read as its attributes
    read them (`loaded_rows.read_columns`: one call, where each attribute is one)."""
    return read_columns(row, keys)


def open_steps(session: Session, dossier_id: int) -> list[WorkItemRecord]:
    """The dossier's open steps, oldest first; when the change in this session created every
    open step itself, they are taken from it without a statement."""
    known = repositories.known_open_items(session, dossier_id)
    if known is not None:
        return sorted(known, key=lambda item: (item.created_at, item.id))
    return list(
        session.scalars(
            select(WorkItemRecord)
            .where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(OPEN_STATES))
            .order_by(WorkItemRecord.created_at, WorkItemRecord.id)
        )
    )


def _view_where(session: Session, condition) -> DossierView | None:
    row = session.execute(_VIEW_ROW.where(condition)).first()
    if row is None:
        return None
    dossier, definition, unit, catalogue = row
    return DossierView(dossier, definition, unit, catalogue, open_steps(session, dossier.id))


def dossier_view(session: Session, dossier_id: int) -> DossierView | None:
    return _view_where(session, DossierRecord.id == dossier_id)


def dossier_by_code(session: Session, code: str) -> DossierView | None:
    return _view_where(session, DossierRecord.code == code)


def dossier_code(session: Session, dossier_id: int) -> str | None:
    return session.scalar(select(DossierRecord.code).where(DossierRecord.id == dossier_id))


def dossier_steps(session: Session, dossier_id: int) -> list[WorkItemRecord]:
    """Every step the dossier went through, in the order it reached them (the control slip)."""
    return list(
        session.scalars(
            select(WorkItemRecord)
            .where(WorkItemRecord.dossier_id == dossier_id)
            .order_by(WorkItemRecord.created_at, WorkItemRecord.id)
        )
    )


def dossier_answers(session: Session, dossier_id: int) -> list[AuditEventRecord]:
    """The messages another agency's system sent to the dossier's waiting steps, in order."""
    return list(
        session.scalars(
            select(AuditEventRecord)
            .where(
                AuditEventRecord.dossier_id == dossier_id,
                AuditEventRecord.action == "message",
                AuditEventRecord.element_id.isnot(None),
            )
            .order_by(AuditEventRecord.at, AuditEventRecord.id)
        )
    )


def dossier_history(session: Session, dossier_id: int) -> list[AuditEventRecord]:
    """Every audit event of the dossier in the order it happened."""
    return list(
        session.scalars(
            select(AuditEventRecord)
            .where(AuditEventRecord.dossier_id == dossier_id)
            .order_by(AuditEventRecord.at, AuditEventRecord.id)
        )
    )


def history_with_step_names(session: Session, dossier_id: int) -> list[HistoryEvent]:
    """dossier_history with the name of the step each event happened at."""
    rows = session.execute(
        select(AuditEventRecord, WorkItemRecord.name)
        .outerjoin(WorkItemRecord, WorkItemRecord.id == AuditEventRecord.work_item_id)
        .where(AuditEventRecord.dossier_id == dossier_id)
        .order_by(AuditEventRecord.at, AuditEventRecord.id)
    )
    return [HistoryEvent(event, name) for event, name in rows]


def stop_event(session: Session, dossier_id: int) -> AuditEventRecord | None:
    """The decision that stopped the dossier (withdrawal at the applicant's request, or a stop),
    for the stop notice."""
    return session.scalar(
        select(AuditEventRecord)
        .where(AuditEventRecord.dossier_id == dossier_id, AuditEventRecord.action.in_(("withdraw", "cancel")))
        .order_by(AuditEventRecord.id.desc())
        .limit(1)
    )


REGISTER_LIMIT = 2000


def register(session: Session, unit_code: str, start: datetime, end: datetime) -> list[tuple[DossierRecord, str]]:
    """The unit's dossier register (sổ theo dõi hồ sơ) for [start, end): every dossier it
    received or handles, in order of receipt, with its procedure's name."""
    rows = session.execute(
        select(DossierRecord, ProcessDefinitionRecord.name)
        .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
        .where(
            DossierRecord.unit_code == unit_code, DossierRecord.received_at >= start, DossierRecord.received_at < end
        )
        .order_by(DossierRecord.received_at, DossierRecord.id)
        .limit(REGISTER_LIMIT)
    )
    return [(dossier, name) for dossier, name in rows]


@dataclass(frozen=True)
class DossierPage:
    """Everything a dossier's (or one of its steps') page shows, read in one go."""

    view: DossierView
    item: WorkItemRecord | None
    steps: list[WorkItemRecord]
    history: list[AuditEventRecord]
    names: dict[str, str]
    colleagues: list[UserRecord]  # who may take the step (its role, its unit)


def dossier_page(session: Session, *, dossier_id: int | None = None, item_id: int | None = None) -> DossierPage | None:
    """The page of a dossier, or of one of its steps (`item_id`); None when either is unknown."""
    item = session.get(WorkItemRecord, item_id) if item_id is not None else None
    if item_id is not None and item is None:
        return None
    shown = item.dossier_id if item else dossier_id
    view = dossier_view(session, shown) if shown is not None else None
    if view is None:
        return None
    steps = dossier_steps(session, view.dossier.id)
    history = dossier_history(session, view.dossier.id)
    people = (
        [e.actor for e in history]
        + [e.giver for e in history]
        + [e.receiver for e in history]
        + [w.completed_by for w in steps]
        + [w.assignee for w in steps]
        + ([item.owner, item.on_behalf_of] if item else [])
    )
    return DossierPage(
        view,
        item,
        steps,
        history,
        full_names(session, people),
        colleagues(session, item.unit_code, item.role) if item else [],
    )
