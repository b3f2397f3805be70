"""Read side of the clerk's desk: inbox tabs, one work item with its dossier, a dossier's history,
colleagues to hand work to, absences to list. Plain indexed columns only, never workflow state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.model import OPEN_STATES
from engine.store.absence_records import AbsenceRecord
from engine.store.catalogue_records import ProcedureRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord

#: Inbox tabs, in the order the page shows them.
TABS = ("cua_toi", "nhom", "uy_quyen", "thay_nguoi_vang")


@dataclass(frozen=True)
class InboxFilter:
    """Whose inbox, and what the clerk narrowed it to."""

    username: str
    roles: frozenset[str]
    unit_code: str
    procedure_key: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class InboxRow:
    item_id: int
    dossier_id: int
    code: str
    procedure: str
    applicant_name: str
    step: str
    role: str | None
    unit_code: str
    assignee: str | None
    owner: str | None
    delegation_state: str | None
    on_behalf_of: str | None
    state: str
    priority: int
    created_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    appointment_at: datetime | None

    def urgency(self, now: datetime) -> str | None:
        """'late' past the step's due time, 'soon' past its warning time, else None."""
        if self.due_at is not None and now > self.due_at:
            return "late"
        if self.warn_at is not None and now >= self.warn_at:
            return "soon"
        return None


def _tab_condition(tab: str, who: InboxFilter):
    me = WorkItemRecord.assignee == who.username
    delegated = WorkItemRecord.delegation_state == "pending"
    if tab == "cua_toi":
        # My own steps, and steps I delegated out: I stay responsible for them.
        return or_(
            and_(me, or_(WorkItemRecord.delegation_state.is_(None), ~delegated), WorkItemRecord.on_behalf_of.is_(None)),
            and_(WorkItemRecord.owner == who.username, delegated),
        )
    if tab == "nhom":
        return and_(WorkItemRecord.assignee.is_(None), WorkItemRecord.role.in_(sorted(who.roles)))
    if tab == "uy_quyen":
        return and_(me, delegated)
    if tab == "thay_nguoi_vang":
        return and_(
            me, WorkItemRecord.on_behalf_of.is_not(None), or_(WorkItemRecord.delegation_state.is_(None), ~delegated)
        )
    raise ValueError(f"unknown inbox tab {tab!r}")


def _narrowed(who: InboxFilter) -> bool:
    """Whether a filter reads the dossier or its procedure (not only the work item)."""
    return bool(who.procedure_key or (who.text or "").strip())


def _filtered(query, who: InboxFilter):
    query = query.where(WorkItemRecord.unit_code == who.unit_code, WorkItemRecord.state.in_(OPEN_STATES))
    if _narrowed(who):
        # Always true (a step's unit is its dossier's, engine.services.projection), and it keeps a
        # filter on the dossier to the unit's dossiers (their index) instead of the province's.
        query = query.where(DossierRecord.unit_code == who.unit_code)
    if who.procedure_key:
        query = query.where(ProcessDefinitionRecord.key == who.procedure_key)
    text = (who.text or "").strip().lower()
    if text:
        # SQLite lowers ASCII letters only: "cường" finds "Cường", "CƯỜNG" does not (PostgreSQL: both).
        query = query.where(
            or_(
                func.lower(DossierRecord.code).contains(text, autoescape=True),
                func.lower(DossierRecord.applicant_name).contains(text, autoescape=True),
            )
        )
    return query


def _joined(columns):
    return (
        select(*columns)
        .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
        .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
    )


#: What a row of the list shows, in InboxRow's order (columns, not entities: no identity map to fill).
_ROW_COLUMNS = (
    WorkItemRecord.id,
    WorkItemRecord.dossier_id,
    DossierRecord.code,
    ProcessDefinitionRecord.name,
    DossierRecord.applicant_name,
    WorkItemRecord.name,
    WorkItemRecord.role,
    WorkItemRecord.unit_code,
    WorkItemRecord.assignee,
    WorkItemRecord.owner,
    WorkItemRecord.delegation_state,
    WorkItemRecord.on_behalf_of,
    WorkItemRecord.state,
    WorkItemRecord.priority,
    WorkItemRecord.created_at,
    WorkItemRecord.due_at,
    WorkItemRecord.warn_at,
    DossierRecord.appointment_at,
)
#: Soonest due first, items without a deadline last.
_DUE_ORDER = (WorkItemRecord.due_at.is_(None), WorkItemRecord.due_at, WorkItemRecord.priority.desc(), WorkItemRecord.id)


def inbox(session: Session, who: InboxFilter, tab: str, limit: int = 300) -> list[InboxRow]:
    """Open work items of the tab, soonest due first (items without a deadline last)."""
    if _narrowed(who):
        query = _filtered(_joined(_ROW_COLUMNS), who).where(_tab_condition(tab, who))
    else:
        # A commune's queue holds thousands of steps: sort and cut them on the work items' own
        # index first, then read the dossiers of the rows shown only.
        shown = (
            _filtered(select(WorkItemRecord.id), who)
            .where(_tab_condition(tab, who))
            .order_by(*_DUE_ORDER)
            .limit(limit)
            .subquery()
        )
        query = _joined(_ROW_COLUMNS).join(shown, shown.c.id == WorkItemRecord.id)
    return [InboxRow(*row) for row in session.execute(query.order_by(*_DUE_ORDER).limit(limit))]


def tab_counts(session: Session, who: InboxFilter) -> dict[str, int]:
    """How many items each tab holds under the same filters, in one statement. The dossier and
    its procedure are joined only when a filter reads them: the counts then read the work items'
    indexes and no other table."""
    conditions = [_tab_condition(tab, who) for tab in TABS]
    columns = [func.count(WorkItemRecord.id).filter(condition) for condition in conditions]
    counted = _joined(columns) if _narrowed(who) else select(*columns).select_from(WorkItemRecord)
    row = session.execute(_filtered(counted, who).where(or_(*conditions))).one()
    return {tab: count or 0 for tab, count in zip(TABS, row)}


def procedures_in_unit(session: Session, unit_code: str) -> list[tuple[str, str]]:
    """(key, name) of procedures with dossiers in the unit, for the inbox's procedure filter."""
    rows = session.execute(
        select(ProcessDefinitionRecord.key, func.max(ProcessDefinitionRecord.name))
        .join(DossierRecord, DossierRecord.definition_id == ProcessDefinitionRecord.id)
        .where(DossierRecord.unit_code == unit_code)
        .group_by(ProcessDefinitionRecord.key)
        .order_by(func.max(ProcessDefinitionRecord.name))
    )
    return [(key, name) for key, name in rows]


RETURN_DECISION = ("ket_qua", "tra_lai")  # what a step sending the dossier back records (actions.py)


def return_reason(outcome: dict | None) -> str | None:
    """Why a completed step sent the dossier back (its return reason, else its opinion), or None
    when it did not send it back."""
    outcome = outcome or {}
    if outcome.get(RETURN_DECISION[0]) != RETURN_DECISION[1]:
        return None
    return str(outcome.get("ly_do_tra_lai") or outcome.get("y_kien") or "").strip()


def return_reasons(session: Session, rows: Iterable[InboxRow]) -> dict[int, str]:
    """item id -> why a later step sent it back, for the rows that were: the step completed at the
    instant the row was created recorded the return (the desk's return action or the form's own
    "send back" choice, which both complete it with ket_qua 'tra_lai')."""
    created = {(row.dossier_id, row.created_at): row.item_id for row in rows}
    if not created:
        return {}
    completed = session.scalars(
        select(WorkItemRecord).where(
            WorkItemRecord.dossier_id.in_(sorted({dossier for dossier, _ in created})),
            WorkItemRecord.state == "completed",
            WorkItemRecord.completed_at.in_(sorted({at for _, at in created})),
        )
    )
    reasons = {}
    for step in completed:
        reason = return_reason(step.outcome)
        item_id = created.get((step.dossier_id, step.completed_at))
        if reason is not None and item_id is not None:
            reasons[item_id] = reason
    return reasons


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    counts: dict[str, int]
    procedures: list[tuple[str, str]]
    names: dict[str, str]
    returned: dict[int, str]  # item id -> why a later step sent it back


def inbox_page(session: Session, who: InboxFilter, tab: str) -> InboxPage:
    """One tab's rows, every tab's count, the procedure filter's choices, people's names and the
    reasons of the rows that were sent back."""
    rows = inbox(session, who, tab)
    people = [r.assignee for r in rows] + [r.owner for r in rows] + [r.on_behalf_of for r in rows]
    return InboxPage(
        rows,
        tab_counts(session, who),
        procedures_in_unit(session, who.unit_code),
        full_names(session, people),
        return_reasons(session, rows),
    )


# -- one work item and its dossier ----------------------------------------------------------------


@dataclass(frozen=True)
class DossierView:
    dossier: DossierRecord
    definition: ProcessDefinitionRecord
    unit: UnitRecord
    catalogue: ProcedureRecord | None


def dossier_view(session: Session, dossier_id: int) -> DossierView | None:
    row = session.execute(
        select(DossierRecord, ProcessDefinitionRecord, UnitRecord)
        .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
        .join(UnitRecord, UnitRecord.code == DossierRecord.unit_code)
        .where(DossierRecord.id == dossier_id)
    ).first()
    if row is None:
        return None
    dossier, definition, unit = row
    catalogue = session.scalar(select(ProcedureRecord).where(ProcedureRecord.key == definition.key))
    return DossierView(dossier, definition, unit, catalogue)


def work_item(session: Session, item_id: int) -> WorkItemRecord | None:
    return session.get(WorkItemRecord, item_id)


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
    return list(
        session.scalars(
            select(AuditEventRecord)
            .where(AuditEventRecord.dossier_id == dossier_id)
            .order_by(AuditEventRecord.at, AuditEventRecord.id)
        )
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


def stop_event(session: Session, dossier_id: int) -> AuditEventRecord | None:
    """The decision that stopped the dossier (withdrawal at the applicant's request, or a stop),
    for the stop notice."""
    return session.scalar(
        select(AuditEventRecord)
        .where(AuditEventRecord.dossier_id == dossier_id, AuditEventRecord.action.in_(("withdraw", "cancel")))
        .order_by(AuditEventRecord.id.desc())
        .limit(1)
    )


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
    view = dossier_view(session, item.dossier_id if item else dossier_id)
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


def full_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    names = sorted({u for u in usernames if u})
    if not names:
        return {}
    return dict(
        session.execute(select(UserRecord.username, UserRecord.full_name).where(UserRecord.username.in_(names))).all()
    )


def colleagues(
    session: Session, unit_code: str, role: str | None = None, excluding: str | None = None
) -> list[UserRecord]:
    """Active users of the unit (holding `role`, when given), by name."""
    users = session.scalars(
        select(UserRecord)
        .where(UserRecord.unit_code == unit_code, UserRecord.active.is_(True))
        .order_by(UserRecord.full_name)
    )
    return [u for u in users if (role is None or role in u.role_set) and u.username != excluding]


# -- reception -------------------------------------------------------------------------------------


def catalogue_entry(session: Session, key: str) -> ProcedureRecord | None:
    return session.scalar(select(ProcedureRecord).where(ProcedureRecord.key == key))


def province_communes(session: Session, unit_code: str) -> list[UnitRecord]:
    """The communes of the unit's province (Decree 118: receipt regardless of commune boundary)."""
    unit = session.get(UnitRecord, unit_code)
    if unit is None:
        return []
    province = unit.parent_code if unit.kind == "commune" else unit.code
    return list(
        session.scalars(
            select(UnitRecord)
            .where(UnitRecord.parent_code == province, UnitRecord.kind == "commune")
            .order_by(UnitRecord.name)
        )
    )


# -- absences --------------------------------------------------------------------------------------


def absences_involving(session: Session, username: str) -> list[AbsenceRecord]:
    """Absences the user declared as away, or covers as substitute; newest first."""
    return list(
        session.scalars(
            select(AbsenceRecord)
            .where(or_(AbsenceRecord.username == username, AbsenceRecord.substitute == username))
            .order_by(AbsenceRecord.date_from.desc(), AbsenceRecord.id.desc())
        )
    )


def absences_of_unit(session: Session, unit_code: str) -> list[AbsenceRecord]:
    """Every absence in the unit (what a leader manages); newest first."""
    return list(
        session.scalars(
            select(AbsenceRecord)
            .where(AbsenceRecord.unit_code == unit_code)
            .order_by(AbsenceRecord.date_from.desc(), AbsenceRecord.id.desc())
        )
    )
