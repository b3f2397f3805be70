"""Rows of the portal connection: each province's portal settings, the dossiers citizens submitted
online waiting at a commune's desk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm.util import identity_key

from engine.store.base import Base
from engine.store.records import UnitRecord
from engine.store.records import UTCDateTime


class PortalSettingRecord(Base):
    """How one province reaches the National Public Service Portal (configured per province)."""

    __tablename__ = "portal_setting"

    province_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(400))  # base URL of the portal's API
    token: Mapped[str] = mapped_column(String(400))  # the credential the portal gave the province
    # Our unit code -> the portal's agency identifier (MX1X2.Y1Y2Y3.Z1Z2); a unit not listed uses its agency code.
    agency_ids: Mapped[dict] = mapped_column(JSON, default=dict)
    platform_code: Mapped[str | None] = mapped_column(String(2))  # AA of Circular 4/2025's dossier code
    status_map: Mapped[dict] = mapped_column(JSON, default=dict)  # our status -> portal code, where they differ
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=10)
    pull_every_seconds: Mapped[int] = mapped_column(Integer, default=60)
    last_pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OnlineSubmissionRecord(Base):
    """A dossier submitted on the portal (status 1) until the desk accepts (2), refuses (3) or asks
    for a supplement (5); the accepted one names the dossier it became."""

    __tablename__ = "online_submission"
    __table_args__ = (Index("ix_online_submission_queue", "unit_code", "status", "arrived_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal_code: Mapped[str] = mapped_column(String(80), unique=True)  # the portal's own code (MaHoSoCong)
    unit_code: Mapped[str] = mapped_column(String(16))
    procedure_code: Mapped[str] = mapped_column(String(40))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # [{name, content_type, content (base64)}]
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())  # on the portal
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())  # here (pulled or pushed)
    status: Mapped[int] = mapped_column(Integer, default=1)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    dossier_id: Mapped[int | None] = mapped_column(Integer)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rounds: Mapped[int] = mapped_column(Integer, default=1)  # 2 after one supplement, ...


def setting_for_province(session: Session, province_code: str | None) -> PortalSettingRecord | None:
    return session.get(PortalSettingRecord, province_code) if province_code else None


def unit_with_setting(session: Session, unit_code: str) -> tuple[UnitRecord | None, PortalSettingRecord | None]:
    """A unit and the portal settings of its province (a commune's parent, or the province
    itself) in one round trip, or none at all when both are already in the session; the portal
    sync asks on every change of a dossier's status."""
    known = session.info.get(_KNOWN_KEY, {}).get(unit_code)
    if known is not None:
        return known
    unit = session.identity_map.get(identity_key(UnitRecord, unit_code))
    if unit is not None:
        return unit, setting_for_province(session, _province_of(unit))
    row = session.execute(_UNIT_WITH_SETTING, {"code": unit_code}).first()
    return (row[0], row[1]) if row else (None, None)


_KNOWN_KEY = "motcua_unit_settings"


def remember_unit_setting(session: Session, unit: UnitRecord, setting: PortalSettingRecord | None) -> None:
    """Note, for the rest of this transaction, a unit and its province's portal settings read
    along with something else (a start reads them with its template version)."""
    session.info.setdefault(_KNOWN_KEY, {})[unit.code] = (unit, setting)


def province_setting_of(unit_table=UnitRecord):
    """The join condition of a unit's province's portal settings (a commune's parent, or the
    province itself)."""
    return PortalSettingRecord.province_code == case(
        (unit_table.kind == "province", unit_table.code), else_=unit_table.parent_code
    )


def _province_of(unit: UnitRecord) -> str | None:
    return unit.code if unit.kind == "province" else unit.parent_code


_UNIT_WITH_SETTING = (
    select(UnitRecord, PortalSettingRecord)
    .outerjoin(PortalSettingRecord, province_setting_of())
    .where(UnitRecord.code == bindparam("code"))
)


def all_settings(session: Session) -> list[PortalSettingRecord]:
    return list(session.scalars(select(PortalSettingRecord).order_by(PortalSettingRecord.province_code)))


def waiting_submissions(session: Session, unit_codes=None, status: int = 1) -> list[OnlineSubmissionRecord]:
    query = select(OnlineSubmissionRecord).where(OnlineSubmissionRecord.status == status)
    if unit_codes is not None:
        query = query.where(OnlineSubmissionRecord.unit_code.in_(list(unit_codes)))
    return list(session.scalars(query.order_by(OnlineSubmissionRecord.arrived_at, OnlineSubmissionRecord.id)))


def submission_by_portal_code(session: Session, portal_code: str) -> OnlineSubmissionRecord | None:
    return session.scalars(
        select(OnlineSubmissionRecord).where(OnlineSubmissionRecord.portal_code == portal_code)
    ).first()


def not_alerted(session: Session) -> list[OnlineSubmissionRecord]:
    return list(
        session.scalars(
            select(OnlineSubmissionRecord).where(
                OnlineSubmissionRecord.status == 1, OnlineSubmissionRecord.alerted_at.is_(None)
            )
        )
    )


def result_files(session: Session, dossier_id: int) -> list:
    from engine.store.attachment_records import AttachmentRecord

    return list(
        session.scalars(
            select(AttachmentRecord)
            .where(AttachmentRecord.dossier_id == dossier_id, AttachmentRecord.kind == "result")
            .order_by(AttachmentRecord.id)
        )
    )


def latest_event(session: Session, dossier_id: int):
    from engine.store.records import AuditEventRecord

    return session.scalars(
        select(AuditEventRecord)
        .where(AuditEventRecord.dossier_id == dossier_id)
        .order_by(AuditEventRecord.id.desc())
        .limit(1)
    ).first()


def latest_step(session: Session, dossier_id: int, element_id: str):
    from engine.store.records import WorkItemRecord

    return session.scalars(
        select(WorkItemRecord)
        .where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.element_id == element_id)
        .order_by(WorkItemRecord.id.desc())
        .limit(1)
    ).first()


def published_for_procedure(session: Session, procedure_code: str):
    """The newest published version of the template of a procedure code (the unit's rolled-out
    version is chosen when the dossier starts)."""
    from engine.store.records import ProcessDefinitionRecord

    return session.scalar(
        select(ProcessDefinitionRecord)
        .where(ProcessDefinitionRecord.procedure_code == procedure_code, ProcessDefinitionRecord.status == "published")
        .order_by(ProcessDefinitionRecord.version.desc())
        .limit(1)
    )


def unit_by_agency(session: Session, setting: PortalSettingRecord, agency: str):
    """Our unit for the portal's agency identifier: the setting's table first, then agency codes."""
    from engine.store.records import UnitRecord

    for unit_code, portal_id in (setting.agency_ids or {}).items():
        if portal_id == agency:
            return session.get(UnitRecord, unit_code)
    return session.scalars(select(UnitRecord).where(UnitRecord.agency_code == agency).limit(1)).first()


def province_units(session: Session, province_code: str) -> list:
    from engine.store.records import UnitRecord

    return list(
        session.scalars(
            select(UnitRecord)
            .where((UnitRecord.parent_code == province_code) | (UnitRecord.code == province_code))
            .order_by(UnitRecord.code)
        )
    )


def dossier_page(session: Session, unit_code: str, after: str, limit: int) -> list:
    """(code, status, appointment_at) of a unit's dossiers whose code follows `after`, in code
    order as Python compares strings (keyset pagination on the unique code)."""
    from engine.store.records import DossierRecord

    code = _in_code_point_order(session, DossierRecord.code)
    query = (
        select(DossierRecord.code, DossierRecord.status, DossierRecord.appointment_at)
        .where(DossierRecord.unit_code == unit_code, code > after)
        .order_by(code)
        .limit(limit)
    )
    return list(session.execute(query))


def decided_submission_page(session: Session, unit_code: str, after: str, limit: int) -> list:
    """(portal_code, status) of a unit's online submissions refused (3) or sent back for a
    supplement (5) whose portal code follows `after`, in code order (as dossier_page)."""
    code = _in_code_point_order(session, OnlineSubmissionRecord.portal_code)
    query = (
        select(OnlineSubmissionRecord.portal_code, OnlineSubmissionRecord.status)
        .where(OnlineSubmissionRecord.unit_code == unit_code, OnlineSubmissionRecord.status.in_((3, 5)), code > after)
        .order_by(code)
        .limit(limit)
    )
    return list(session.execute(query))


def _in_code_point_order(session: Session, column):
    """PostgreSQL sorts text by the database's locale (which may skip '-' and '.'): the C collation
    compares as Python does; SQLite's default (BINARY) already does."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column
