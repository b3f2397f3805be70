"""The reads and writes of the citizen side (engine.store.citizen_records): providers per unit,
payments, the catalogue's fee rule, ratings; the services above hold the rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.store.catalogue_records import ProcedureRecord
from engine.store.citizen_records import NotificationProviderRecord
from engine.store.citizen_records import PaymentRecord
from engine.store.citizen_records import SatisfactionRecord
from engine.store.database import Session
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord


class DuplicateRow(Exception):
    """A unique key was taken by another transaction meanwhile."""


@contextmanager
def unique_or_duplicate() -> Iterator[None]:
    """Turn the database's unique violation into DuplicateRow (the services need no SQLAlchemy)."""
    try:
        yield
    except IntegrityError as error:
        raise DuplicateRow(str(error.orig)) from error


def provider(session: Session, unit_code: str, channel: str) -> NotificationProviderRecord | None:
    return session.scalar(
        select(NotificationProviderRecord).where(
            NotificationProviderRecord.unit_code == unit_code, NotificationProviderRecord.channel == channel
        )
    )


def unit_exists(session: Session, unit_code: str) -> bool:
    return session.get(UnitRecord, unit_code) is not None


def parent_of(session: Session, unit_code: str) -> str | None:
    return session.scalar(select(UnitRecord.parent_code).where(UnitRecord.code == unit_code))


def providers(session: Session) -> list[NotificationProviderRecord]:
    return list(
        session.scalars(
            select(NotificationProviderRecord).order_by(
                NotificationProviderRecord.unit_code, NotificationProviderRecord.channel
            )
        )
    )


def remove_provider(session: Session, unit_code: str, channel: str) -> None:
    session.execute(
        delete(NotificationProviderRecord).where(
            NotificationProviderRecord.unit_code == unit_code, NotificationProviderRecord.channel == channel
        )
    )


def dossier_unit(session: Session, dossier_id: int) -> str | None:
    return session.scalar(select(DossierRecord.unit_code).where(DossierRecord.id == dossier_id))


def procedure_and_unit_names(session: Session, definition_id: int, unit_code: str) -> tuple[str, str]:
    return tuple(
        session.execute(
            select(ProcessDefinitionRecord.name, UnitRecord.name)
            .join(UnitRecord, UnitRecord.code == unit_code)
            .where(ProcessDefinitionRecord.id == definition_id)
        ).one()
    )


def payments_of(session: Session, dossier_id: int) -> list[PaymentRecord]:
    return list(
        session.scalars(
            select(PaymentRecord)
            .where(PaymentRecord.dossier_id == dossier_id)
            .order_by(PaymentRecord.paid_at, PaymentRecord.id)
        )
    )


def fees_before_processing(session: Session, definition_id: int) -> bool:
    """Whether the catalogue entry of the definition's procedure is paid before it is processed."""
    return bool(
        session.scalar(
            select(ProcedureRecord.fees_before_processing)
            .join(ProcessDefinitionRecord, ProcessDefinitionRecord.key == ProcedureRecord.key)
            .where(ProcessDefinitionRecord.id == definition_id)
        )
    )


def dossier_by_code(session: Session, code: str) -> DossierRecord | None:
    return session.scalar(select(DossierRecord).where(DossierRecord.code == code))


def rating_of_code(session: Session, code: str) -> SatisfactionRecord | None:
    return session.scalar(
        select(SatisfactionRecord)
        .join(DossierRecord, DossierRecord.id == SatisfactionRecord.dossier_id)
        .where(DossierRecord.code == code)
    )


def is_rated(session: Session, dossier_id: int) -> bool:
    return session.scalar(select(SatisfactionRecord.id).where(SatisfactionRecord.dossier_id == dossier_id)) is not None
