"""Standing delegations (ủy quyền khi vắng mặt) and the reads that routing work around them needs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.domain.model import OPEN_STATES
from engine.domain.model import WorkItemState
from engine.store.base import Base
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UTCDateTime
from engine.store.records import WorkItemRecord
from engine.store.records import open_steps


class AbsenceRecord(Base):
    """While `username` is away (dates inclusive, unit-local), `substitute` takes their work;
    `procedure_key` and `role` narrow it, None meaning any. Cancelling ends it; rows stay."""

    __tablename__ = "absence"
    __table_args__ = (Index("ix_absence_user_dates", "username", "date_from", "date_to"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"))
    substitute: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    procedure_key: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def covers(self, on_date: date) -> bool:
        return self.cancelled_at is None and self.date_from <= on_date <= self.date_to

    def applies_to(self, procedure_key: str | None, role: str | None) -> bool:
        """Whether work of this procedure and role falls under the absence (None scope = any)."""
        return (self.procedure_key is None or self.procedure_key == procedure_key) and (
            self.role is None or self.role == role
        )

    @property
    def specificity(self) -> int:
        """A narrower absence wins over a broader one covering the same work."""
        return (self.procedure_key is not None) * 2 + (self.role is not None)


_ACTIVE = AbsenceRecord.cancelled_at.is_(None)


def active_absences_of(session: Session, username: str, date_from: date, date_to: date) -> list[AbsenceRecord]:
    """The user's uncancelled absences overlapping [date_from, date_to]."""
    return list(
        session.scalars(
            select(AbsenceRecord)
            .where(
                AbsenceRecord.username == username,
                _ACTIVE,
                AbsenceRecord.date_from <= date_to,
                AbsenceRecord.date_to >= date_from,
            )
            .order_by(AbsenceRecord.id)
        )
    )


def active_absences_between(session: Session, date_from: date, date_to: date) -> list[AbsenceRecord]:
    """Every uncancelled absence overlapping [date_from, date_to] (a sweep filters per unit day)."""
    return list(
        session.scalars(
            select(AbsenceRecord)
            .where(_ACTIVE, AbsenceRecord.date_from <= date_to, AbsenceRecord.date_to >= date_from)
            .order_by(AbsenceRecord.id)
        )
    )


def open_items_assigned_to(session: Session, usernames: Iterable[str]) -> list[tuple[WorkItemRecord, str]]:
    """Open or claimed items held by these users, with their dossier's procedure key."""
    names = sorted(set(usernames))
    if not names:
        return []
    return [
        (item, key)
        for item, key in session.execute(
            _items_with_key().where(WorkItemRecord.assignee.in_(names), open_steps()).order_by(WorkItemRecord.id)
        )
    ]


def open_items_on_behalf_of(session: Session, username: str | None = None) -> list[tuple[WorkItemRecord, str]]:
    """Open or claimed items a substitute holds for someone (for `username` only, when given)."""
    query = _items_with_key().where(WorkItemRecord.on_behalf_of.is_not(None), WorkItemRecord.state.in_(OPEN_STATES))
    if username is not None:
        query = query.where(WorkItemRecord.on_behalf_of == username)
    return [(item, key) for item, key in session.execute(query.order_by(WorkItemRecord.id))]


def last_completed_item(session: Session, dossier_id: int, element_id: str) -> WorkItemRecord | None:
    """The most recent completion of a step in a dossier (who to send a returned step back to)."""
    return session.scalar(
        select(WorkItemRecord)
        .where(
            WorkItemRecord.dossier_id == dossier_id,
            WorkItemRecord.element_id == element_id,
            WorkItemRecord.state == WorkItemState.COMPLETED.value,
        )
        .order_by(WorkItemRecord.completed_at.desc(), WorkItemRecord.id.desc())
        .limit(1)
    )


def _items_with_key():
    return (
        select(WorkItemRecord, ProcessDefinitionRecord.key)
        .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
        .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
    )
