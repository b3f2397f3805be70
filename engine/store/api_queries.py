"""Reads the REST API needs: a dossier by code, its history, a user's work items, API tokens.

Unit scoping is a parameter (`units`): the caller passes the units its user may see, and rows
of other units are simply not found, so the API never confirms that they exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.domain.model import OPEN_STATES
from engine.store import repositories
from engine.store.account_records import ApiTokenRecord
from engine.store.catalogue_records import ProcedureRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import WorkItemRecord

#: The work-item lists a user can ask for.
WORK_ITEM_FILTERS = ("all", "mine", "group", "delegated")


@dataclass(frozen=True)
class DossierView:
    dossier: DossierRecord
    definition: ProcessDefinitionRecord
    open_items: list[WorkItemRecord]


@dataclass(frozen=True)
class HistoryEvent:
    event: AuditEventRecord
    step_name: str | None


def dossier_by_code(session: Session, code: str, units: frozenset[str]) -> DossierView | None:
    """The dossier with its template version and open steps, when its unit is among `units`."""
    row = session.execute(
        select(DossierRecord, ProcessDefinitionRecord)
        .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
        .where(DossierRecord.code == code, DossierRecord.unit_code.in_(units))
    ).first()
    if row is None:
        return None
    items = session.scalars(
        select(WorkItemRecord)
        .where(WorkItemRecord.dossier_id == row[0].id, WorkItemRecord.state.in_(OPEN_STATES))
        .order_by(WorkItemRecord.created_at, WorkItemRecord.id)
    )
    return DossierView(row[0], row[1], list(items))


def dossier_code(session: Session, dossier_id: int) -> str | None:
    return session.scalar(select(DossierRecord.code).where(DossierRecord.id == dossier_id))


def dossier_view_of(session: Session, dossier: DossierRecord, definition) -> DossierView:
    """A dossier already in hand (a change's own row) with its open steps: one statement. The
    steps a change created or closed are read after its flush, as they now stand; when the change
    created every open step itself, they are taken from it without a statement."""
    known = repositories.known_open_items(session, dossier.id)
    if known is not None:
        return DossierView(dossier, definition, sorted(known, key=lambda item: (item.created_at, item.id)))
    items = session.scalars(
        select(WorkItemRecord)
        .where(WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state.in_(OPEN_STATES))
        .order_by(WorkItemRecord.created_at, WorkItemRecord.id)
    )
    return DossierView(dossier, definition, list(items))


def dossier_history(session: Session, dossier_id: int) -> list[HistoryEvent]:
    """Every audit event of the dossier in the order it happened, with the step's name."""
    rows = session.execute(
        select(AuditEventRecord, WorkItemRecord.name)
        .outerjoin(WorkItemRecord, WorkItemRecord.id == AuditEventRecord.work_item_id)
        .where(AuditEventRecord.dossier_id == dossier_id)
        .order_by(AuditEventRecord.at, AuditEventRecord.id)
    )
    return [HistoryEvent(event, name) for event, name in rows]


def work_items_for(
    session: Session,
    *,
    username: str,
    unit_code: str | None,
    roles: frozenset[str],
    which: str = "all",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[WorkItemRecord, DossierRecord]], int]:
    """Open steps for one user, soonest due first (steps without a due time last), and their count.

    mine: assigned to the user (including steps delegated to them); group: unclaimed steps of
    the user's unit for a role they hold; delegated: steps the user owns and handed to someone
    else, waiting to be resolved back; all: mine and group.
    """
    mine = WorkItemRecord.assignee == username
    group = (
        and_(WorkItemRecord.assignee.is_(None), WorkItemRecord.unit_code == unit_code, WorkItemRecord.role.in_(roles))
        if unit_code and roles
        else None
    )
    delegated = and_(
        WorkItemRecord.owner == username,
        WorkItemRecord.delegation_state == "pending",
        WorkItemRecord.assignee != username,
    )
    chosen = [
        c
        for c in {"mine": [mine], "group": [group], "delegated": [delegated], "all": [mine, group]}[which]
        if c is not None
    ]
    if not chosen:
        return [], 0
    conditions = (WorkItemRecord.state.in_(OPEN_STATES), or_(*chosen))
    total = session.scalar(select(func.count()).select_from(WorkItemRecord).where(*conditions)) or 0
    query = (
        select(WorkItemRecord, DossierRecord)
        .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
        .where(*conditions)
        .order_by(WorkItemRecord.due_at.is_(None), WorkItemRecord.due_at, WorkItemRecord.created_at, WorkItemRecord.id)
        .limit(limit)
        .offset(offset)
    )
    return [(item, dossier) for item, dossier in session.execute(query)], total


def work_item_unit(session: Session, work_item_id: int) -> str | None:
    return session.scalar(select(WorkItemRecord.unit_code).where(WorkItemRecord.id == work_item_id))


def procedure_by_code_or_key(session: Session, code: str) -> ProcedureRecord | None:
    """A catalogue entry by its Portal code (`1.001193`) or, when it has none yet, by its key."""
    return session.scalar(
        select(ProcedureRecord)
        .where(or_(ProcedureRecord.code == code, ProcedureRecord.key == code))
        .order_by(ProcedureRecord.key == code)
        .limit(1)
    )


def published_definitions(session: Session, key: str | None = None) -> list[ProcessDefinitionRecord]:
    query = select(ProcessDefinitionRecord).where(ProcessDefinitionRecord.status == "published")
    if key:
        query = query.where(ProcessDefinitionRecord.key == key)
    return list(session.scalars(query.order_by(ProcessDefinitionRecord.key, ProcessDefinitionRecord.version)))


def api_tokens(session: Session) -> list[ApiTokenRecord]:
    return list(session.scalars(select(ApiTokenRecord).order_by(ApiTokenRecord.id)))


def revoke_token(session: Session, token_id: int) -> bool:
    """Mark a token revoked; False when there is no such token."""
    result = session.execute(update(ApiTokenRecord).where(ApiTokenRecord.id == token_id).values(revoked=True))
    return result.rowcount > 0


def step_and_dossier(session: Session, work_item_id: int):
    """A step with its dossier, for the API's answers about it (None, None when unknown)."""
    return repositories.work_item_with_dossier(session, work_item_id)
