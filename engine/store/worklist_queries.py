"""The worklist read model: the lists of open steps a person works from (`Worklist`), as the
desk's inbox tabs and the API's work-item list, with their counts, the reasons of steps sent back
and the inbox's filters. Plain indexed columns only, never workflow state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.model import DelegationState
from engine.domain.model import WorkItemState
from engine.domain.model import Worklist
from engine.store import repositories
from engine.store.people_queries import full_names
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import WorkItemRecord
from engine.store.records import open_steps

#: Inbox tabs, in the order the page shows them: the slug in the page's address -> its worklist.
TABS = {
    "cua_toi": Worklist.OWN,
    "nhom": Worklist.GROUP,
    "duoc_uy_quyen": Worklist.DELEGATED_TO_ME,
    "thay_nguoi_vang": Worklist.COVERING,
}
#: Older addresses of a tab, still understood.
TAB_ALIASES = {"uy_quyen": "duoc_uy_quyen"}


@dataclass(frozen=True)
class WorklistFilter:
    """Whose worklist, and what they narrowed it to."""

    username: str
    roles: frozenset[str]
    unit_code: str | None
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


def worklist_condition(worklist: Worklist, who: WorklistFilter):
    """Which open steps belong to `who`'s worklist: each list is defined here and nowhere else."""
    w = WorkItemRecord
    me = w.assignee == who.username
    delegating = w.delegation_state == DelegationState.PENDING.value
    not_delegating = or_(w.delegation_state.is_(None), ~delegating)
    delegated_out = and_(w.owner == who.username, delegating, w.assignee != who.username)
    group = (
        and_(w.assignee.is_(None), w.unit_code == who.unit_code, w.role.in_(sorted(who.roles)))
        if who.unit_code and who.roles
        else false()
    )
    conditions = {
        Worklist.OWN: or_(and_(me, not_delegating, w.on_behalf_of.is_(None)), delegated_out),
        Worklist.MINE: me,
        Worklist.GROUP: group,
        Worklist.DELEGATED_TO_ME: and_(me, delegating),
        Worklist.DELEGATED_OUT: delegated_out,
        Worklist.COVERING: and_(me, w.on_behalf_of.is_not(None), not_delegating),
        Worklist.ALL: or_(me, group),
    }
    return conditions[worklist]


def _tab_condition(tab: str, who: WorklistFilter):
    if tab not in TABS:
        raise ValueError(f"unknown inbox tab {tab!r}")
    return worklist_condition(TABS[tab], who)


def _narrowed(who: WorklistFilter) -> bool:
    """Whether a filter reads the dossier's procedure (not only the work item)."""
    return bool(who.procedure_key)


def _filtered(query, who: WorklistFilter):
    query = query.where(WorkItemRecord.unit_code == who.unit_code, open_steps())
    if _narrowed(who):
        # Always true (a step's unit is its dossier's, engine.services.projection), and it keeps a
        # filter on the dossier to the unit's dossiers (their index) instead of the province's.
        query = query.where(DossierRecord.unit_code == who.unit_code, ProcessDefinitionRecord.key == who.procedure_key)
    text = (who.text or "").strip().lower()
    if text:
        # The step's copies of its dossier's code and applicant: the thousands of steps an officer
        # sees in a commune are tested as they are read, no dossier is read for them.
        # SQLite lowers ASCII letters only: "cường" finds "Cường", "CƯỜNG" does not (PostgreSQL: both).
        query = query.where(
            or_(
                func.lower(WorkItemRecord.dossier_code).contains(text, autoescape=True),
                func.lower(WorkItemRecord.applicant_name).contains(text, autoescape=True),
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


def inbox(session: Session, who: WorklistFilter, tab: str, limit: int = 300) -> list[InboxRow]:
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


def tab_counts(session: Session, who: WorklistFilter) -> dict[str, int]:
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
    created: dict[tuple[int, datetime | None], int] = {(row.dossier_id, row.created_at): row.item_id for row in rows}
    if not created:
        return {}
    completed = session.scalars(
        select(WorkItemRecord).where(
            WorkItemRecord.dossier_id.in_(sorted({dossier for dossier, _ in created})),
            WorkItemRecord.state == WorkItemState.COMPLETED.value,
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


def inbox_page(session: Session, who: WorklistFilter, tab: str) -> InboxPage:
    """One tab's rows, every tab's count, the procedure filter's choices, people's names and the
    reasons of the rows that were sent back."""
    rows = inbox(session, who, tab)
    people = [r.assignee for r in rows] + [r.owner for r in rows] + [r.on_behalf_of for r in rows]
    return InboxPage(
        rows,
        tab_counts(session, who),
        procedures_in_unit(session, who.unit_code) if who.unit_code else [],
        full_names(session, people),
        return_reasons(session, rows),
    )


def work_items_for(
    session: Session,
    who: WorklistFilter,
    worklist: Worklist = Worklist.ALL,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[WorkItemRecord, DossierRecord]], int]:
    """One worklist's open steps, in every unit, soonest due first (steps without a due time
    last), and their count: the API's list."""
    conditions = (open_steps(), worklist_condition(worklist, who))
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


def work_item(session: Session, item_id: int) -> WorkItemRecord | None:
    return session.get(WorkItemRecord, item_id)


def work_item_unit(session: Session, work_item_id: int) -> str | None:
    return session.scalar(select(WorkItemRecord.unit_code).where(WorkItemRecord.id == work_item_id))


def step_and_dossier(session: Session, work_item_id: int):
    """A step with its dossier, for the API's answers about it (None, None when unknown)."""
    return repositories.work_item_with_dossier(session, work_item_id)
