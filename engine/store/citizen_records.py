"""Tables of the citizen side of a dossier: who delivers messages to applicants per province or
unit (notification_provider), the fees recorded as paid (payment) and the applicant's rating of the
service (satisfaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import UTCDateTime


class NotificationProviderRecord(Base):
    """A channel's provider (SMS gateway, Zalo OA, SMTP server) for a province or one unit; a unit's
    own row wins over its province's. No row: the channel is off there."""

    __tablename__ = "notification_provider"
    __table_args__ = (UniqueConstraint("unit_code", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    channel: Mapped[str] = mapped_column(String(20))  # sms | zalo | email
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PaymentRecord(Base):
    """A fee paid for a dossier: cash at the counter or a bank/portal payment's reference."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    amount_vnd: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))  # cash | bank | portal
    reference: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))


class SatisfactionRecord(Base):
    """The applicant's one rating of a dossier on the criteria of Decision 766/QĐ-TTg, each
    0 (not satisfied), 1 (satisfied) or 2 (very satisfied)."""

    __tablename__ = "satisfaction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    unit_code: Mapped[str] = mapped_column(String(16), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    definition_id: Mapped[int] = mapped_column(Integer)
    time_score: Mapped[int] = mapped_column(Integer)
    attitude_score: Mapped[int] = mapped_column(Integer)
    information_score: Mapped[int] = mapped_column(Integer)
    result_score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
