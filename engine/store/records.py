"""Rows the engine keeps. Workflow state is one text column per dossier; everything that a
list screen, a sweep or a report reads is a plain indexed column, never parsed from the state."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import Date
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import text
from sqlalchemy import types
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.sql import ColumnElement

from engine.domain import kpi as _kpi
from engine.domain.model import OPEN_STATES
from engine.store.among import among
from engine.store.base import Base

#: An open step, as ix_work_item_assignee's condition on PostgreSQL and as `open_steps` writes it
#: (`among`'s order).
OPEN_STEPS = f"state IN ({', '.join(repr(state) for state in sorted(OPEN_STATES))})"


def _rows_where(condition: str) -> dict:
    """A partial index's condition, the same on both databases."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


#: The size class of a workflow's state text on SQLite, in bytes (see StateText).
STATE_SIZE_CLASS = 256


class StateText(types.TypeDecorator):
    """A workflow's state text, written on SQLite followed by blanks up to a multiple of
    STATE_SIZE_CLASS bytes and read back without them (JSON ends with its closing brace; blanks
    after it are allowed and mean nothing). The state (about 6 KB) overflows its 4 KB page, and
    SQLite rewrites a row in place, overflow page included, only when the new record is exactly
    as long as the old: any other length frees the overflow page and takes a page again, writing
    the database's first page and a freelist page at the commit as well. Most steps change the
    state by a few bytes; padded, they keep its size (WAL frames per completion of
    benchmarks/engine.py's use case 16.25 -> 15.76). Every reader through SQLAlchemy gets the
    state as dumped, which the run cache (engine.bpmn.run_cache) compares with the one it kept;
    the state's size limit (engine.bpmn.state_size) is checked on the dumped state before it is
    written. PostgreSQL stores the text as it is (compressed in its own way, lz4: migration 0039)."""

    impl = Text
    cache_ok = True

    def bind_processor(self, dialect):
        return _padded_to_size_class if dialect.name == "sqlite" else None

    def result_processor(self, dialect, coltype):
        return _without_padding if dialect.name == "sqlite" else None


def _padded_to_size_class(value: str | None) -> str | None:
    if value is None:
        return None
    size = len(value) if value.isascii() else len(value.encode())
    return value + " " * (-size % STATE_SIZE_CLASS)


def _without_padding(value: str | None) -> str | None:
    return None if value is None else value.rstrip(" ")


class UTCDateTime(types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        value = _aware_in_utc(value)
        return value.replace(tzinfo=None) if value is not None and dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return _in_utc(value)

    def bind_processor(self, dialect):
        """On SQLite the text SQLAlchemy's DATETIME writes, made by one C call: its own processor
        (through this decorator's) built a dict of the fields and formatted it, about 5 us for each
        of the thirty datetimes a completion writes or compares. Where the driver takes datetimes
        as they are (psycopg), `process_bind_param` in one Python call instead of the decorator's
        two."""
        if dialect.name != "sqlite":
            return (
                _aware_in_utc if self.impl_instance.bind_processor(dialect) is None else super().bind_processor(dialect)
            )
        return _sqlite_text_of

    def result_processor(self, dialect, coltype):
        """On SQLite SQLAlchemy's own parse, with the zone set in the same call. Where the driver
        gives datetimes as they are (psycopg), `process_result_value` in one Python call instead of
        the decorator's two (a step's read converts eleven)."""
        if dialect.name != "sqlite":
            if self.impl_instance.result_processor(dialect, coltype) is None:
                return _in_utc
            return super().result_processor(dialect, coltype)
        parse = self.impl_instance.result_processor(dialect, coltype)
        if parse is None:
            return super().result_processor(dialect, coltype)

        def utc_of_text(value):
            if value is None:
                return None
            found = parse(value)
            return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)

        return utc_of_text


def _aware_in_utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC, as PostgreSQL's driver takes it (naive ones refused)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def _in_utc(value: datetime | None) -> datetime | None:
    """A datetime read back, in UTC (a naive one, as SQLite gives it, taken as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: SQLAlchemy's SQLite DATETIME storage format, which the stored text and every comparison use.
_SQLITE_DATETIME_CHARS = len("2026-01-31 23:59:59.000000")


def _sqlite_text_of(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    # isoformat zero-pads the year to four digits and, with microseconds, the fraction to six,
    # as SQLAlchemy's "%04d-%02d-%02d %02d:%02d:%02d.%06d"; the "+00:00" after them is cut.
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:_SQLITE_DATETIME_CHARS]


class UnitRecord(Base):
    """A province, commune/ward or department; codes come from the vietnam-provinces package."""

    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # province | commune | department
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), index=True)
    agency_code: Mapped[str] = mapped_column(String(40))  # prefix of dossier codes


class UserRecord(Base):
    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), index=True)
    roles: Mapped[str] = mapped_column(String(400), default="")  # space-separated role names
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sessions carry the epoch they were signed in under; signing out or a new password bumps it,
    # which ends every session of the account, wherever its cookie was copied to.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.split())


class TemplateBlobRecord(Base):
    """BPMN content, stored once per distinct content however many versions name it."""

    __tablename__ = "template_blob"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[dict] = mapped_column(JSON)  # file name -> BPMN text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessDefinitionRecord(Base):
    """A version of a template: what a dossier starts on. Published versions are immutable."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)  # the BPMN process id
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    digest: Mapped[str] = mapped_column(ForeignKey("template_blob.digest"))
    status: Mapped[str] = mapped_column(String(16), default="published")  # draft | published | retired
    procedure_code: Mapped[str | None] = mapped_column(String(40), index=True)
    legal_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    clock_cutoff: Mapped[str | None] = mapped_column(String(5))  # "15:00": later receipts count from next day
    clock_last_hour: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


#: The open dossiers whose stored forecast misses their appointment (the at-risk list's index).
MISSED = "completed_at IS NULL AND apology_check_at IS NULL AND missed_forecast IS NOT NULL"


class DossierRecord(Base):
    """A dossier and its workflow's state. Never deleted, nor its id changed: a trigger refuses
    both (migration 0046), which keeps the dossier its steps and audit events name without a
    foreign key checked at each of their inserts."""

    __tablename__ = "dossier"
    __table_args__ = (
        # The timers' lease (engine.store.leases, `next_timer_at <= now`): only dossiers waiting on a
        # timer, so that the others' inserts and updates write no entry (migration 0042).
        Index(
            "ix_dossier_lease",
            "next_timer_at",
            "lease_expires_at",
            **_rows_where("next_timer_at IS NOT NULL"),
        ),
        # The SLA sweep's forecasts due (`apology_check_at <= now`): a closed dossier has none.
        Index(
            "ix_dossier_apology_check_at",
            "apology_check_at",
            **_rows_where("apology_check_at IS NOT NULL"),
        ),
        # The inbox's procedure filter, and the first column of every query of one commune's dossiers.
        Index("ix_dossier_unit_definition", "unit_code", "definition_id"),
        # The dashboard's open stock (engine.store.rollups): the few open dossiers among millions,
        # counted from the index alone; and the open dossiers of some communes, for whatever reads
        # them (a version's dossiers to migrate, the forecasts asked again), by `completed_at IS
        # NULL`, which every open run state implies (migration 0046 dropped the full index of
        # (run_state, unit_code, appointment_at) that every write of a dossier had to keep).
        Index(
            "ix_dossier_unfinished",
            "unit_code",
            "definition_id",
            "appointment_at",
            "received_at",
            "id",
            **_rows_where("completed_at IS NULL"),
        ),
        # The at-risk list: the open dossiers by appointment, read a page at a time from the nearest.
        Index(
            "ix_dossier_open_by_appointment",
            "appointment_at",
            "id",
            **_rows_where("completed_at IS NULL"),
        ),
        # ... and those of them the SLA sweep found missing their appointment since their last change.
        Index(
            "ix_dossier_missed_by_appointment",
            "appointment_at",
            "id",
            **_rows_where(MISSED),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    # Not indexed alone (migration 0040): read with the commune, and never deleted.
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id"))
    # The unit's overrides (role holders, budgets) as they were when the dossier started: like its
    # template version, a dossier keeps the rules it was received under.
    overrides: Mapped[dict | None] = mapped_column(JSON)
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant: Mapped[dict] = mapped_column(JSON, default=dict)
    # How the dossier reached the office (engine.domain.figures.Channel): counter, online, post.
    channel: Mapped[str] = mapped_column(String(10), default="counter", server_default="counter")
    status: Mapped[int] = mapped_column(Integer)  # National Portal status code (DossierStatus)
    run_state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clock_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    original_appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    re_appointment_reason: Mapped[str | None] = mapped_column(Text)
    # The apology forecast's bookkeeping (the SLA sweep writes it without the version: a clerk's
    # change never conflicts with it). When to forecast again (now, after a change; or the instant
    # the remaining work stops fitting if nothing moves); the appointment the leaders were asked
    # about (one request per appointment).
    apology_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    apology_requested_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The sweep's last forecast of a dossier it found will miss its appointment (Forecast.as_detail
    # and when it was made), for the at-risk list to read instead of projecting again; trusted only
    # while apology_check_at is None (a change since sets that to its instant). Deferred: no
    # change of the dossier reads it.
    missed_forecast: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), deferred=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    classification: Mapped[str | None] = mapped_column(String(10))
    margin_minutes: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(StateText())  # SpiffWorkflow JSON without the spec; text, never JSONB
    state_format: Mapped[str] = mapped_column(String(40))
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Rated by its applicant (engine.services.satisfaction): a step completed later counts the
    # rating for its officer; read with the dossier, so that other completions ask the ratings nothing.
    rated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    @property
    def received_unit(self) -> str | None:
        """The one-stop office that received the dossier for this unit, when another one did."""
        return (self.applicant or {}).get("received_unit")


class DossierPauseRecord(Base):
    """A period during which the dossier's legal clock stops (supplement, fees, excluded period)."""

    __tablename__ = "dossier_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # pauses going on at an instant


class FigureRollupRecord(Base):
    """The dashboard's flow figures summed per local day ('d'), per week ('w', Monday to Sunday, keyed
    by its Monday; migration 0038) and per month ('m', keyed by its first day), commune and template version, kept by engine.store.rollups in the transaction of each
    receipt and closure. Each column counts events on its own day: a receipt on the day received,
    a closure on the day closed, and, for closed dossiers with an appointment, the appointment's
    day and the later of the appointment's and the closure's (what lets overdue be read at a past
    instant without scanning the dossiers closed since)."""

    __tablename__ = "figure_rollup"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received_counter: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received_online: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received_post: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    early: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    on_time: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    late: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    withdrawn_stopped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_by_appointment: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_by_later_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OpenStockRecord(Base):
    """The open dossiers counted per commune, template version, local day of their appointment
    (NO_APPOINTMENT_DAY for none) and whether they wait for the applicant (an open pause of a kind
    the figures count as paused), kept by engine.store.open_stock in the transaction of every change
    that opens, closes, pauses, resumes or re-appoints a dossier; rows that reach 0 are deleted."""

    __tablename__ = "open_stock"

    unit_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_day: Mapped[date] = mapped_column(Date, primary_key=True)
    paused: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 or 1
    dossiers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DossierSequenceRecord(Base):
    """The daily sequence behind dossier codes (agency code + YYMMDD + sequence)."""

    __tablename__ = "dossier_sequence"

    agency_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class OfficerRollupRecord(Base):
    """The officers' KPIs (engine.domain.kpi) summed per local day ('d') and month ('m'), commune
    and officer (user name; '' holds the unit's own counts: dossiers handled by the unit, its
    apology letters), for every procedure and per template version, kept by
    engine.store.officer_rollups in the transaction of each change."""

    __tablename__ = "officer_rollup"

    # Every procedure's rows (engine.store.officer_rollups.ALL, 0) and each template version's, first
    # in the key: a report of every procedure reads one range of it, as before there were versions.
    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)


# The counted columns are the domain's list (22 of them): added to the mapped class one by one.
for _column in _kpi.COLUMNS:
    setattr(OfficerRollupRecord, _column, Column(_column, Integer, nullable=False, default=0, server_default="0"))


class WorkItemRecord(Base):
    """The projection of one human task: what inboxes, sweeps and statistics read."""

    __tablename__ = "work_item"
    __table_args__ = (
        # Each index below holds only the steps its queries can ask for (migration 0042): every
        # INSERT, and every UPDATE (a claim's and a completion's are never heap-only), writes an
        # entry into each index whose condition the new row meets, and into every full index.
        # The condition is one PostgreSQL proves from the queries' own terms whatever their
        # parameters (`x = :p` implies `x IS NOT NULL`), so that prepared generic plans use them.
        # The inbox's own tabs and the absences' hand-over: steps someone holds; on PostgreSQL
        # only the open ones (a completed step keeps its assignee; migration 0045), whose states
        # the statements that read it write in (`open_steps`: a generic plan proves nothing from a
        # parameter). SQLite keeps them all: it proves no condition of the outer query inside the
        # own tab's OR, and would read the whole table for it.
        Index(
            "ix_work_item_assignee",
            "assignee",
            "state",
            postgresql_where=text(f"assignee IS NOT NULL AND {OPEN_STEPS}"),
            sqlite_where=text("assignee IS NOT NULL"),
        ),
        # The SLA sweep (`next_sla_at <= now`): a closed step has no next level.
        Index(
            "ix_work_item_sla",
            "next_sla_at",
            **_rows_where("next_sla_at IS NOT NULL"),
        ),
        # The inbox (engine.store.worklist_queries): steps delegated out stay in their owner's tab
        # (a step has an owner only once it was delegated);
        Index(
            "ix_work_item_owner",
            "owner",
            "state",
            **_rows_where("owner IS NOT NULL"),
        ),
        # the group tab and its count read the commune's unassigned steps of the officer's roles.
        Index(
            "ix_work_item_group",
            "unit_code",
            "assignee",
            "role",
            "state",
            "due_at",
            **_rows_where("assignee IS NULL"),
        ),
        # A dossier's steps (its page, the officers' first-completion check, the foreign key's
        # checks), and a task projected once into its dossier (migration 0045): one index for
        # both, one entry fewer at every write of a step than the two it replaced.
        UniqueConstraint("dossier_id", "task_id", name="uq_work_item_dossier_task"),
        # The officers' table: steps completed in a period, read from the index alone.
        Index(
            "ix_work_item_completed",
            "completed_at",
            "unit_code",
            "completed_by",
            "classification",
            **_rows_where("state = 'completed'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key (migration 0046): its check of every step inserted locked the dossier's row;
    # the dossier's own trigger refuses its deletion and a change of its id instead.
    dossier_id: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(120))
    unit_code: Mapped[str] = mapped_column(String(16))
    # The dossier's code and applicant, which never change after its reception, copied when the
    # step is created: the inbox's search then tests the officer's steps alone instead of reading
    # each one's dossier (engine.store.worklist_queries). Steps closed before migration 0041 have none.
    dossier_code: Mapped[str | None] = mapped_column(String(60))
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(80))
    owner: Mapped[str | None] = mapped_column(String(80))
    delegation_state: Mapped[str | None] = mapped_column(String(10))  # pending | resolved
    on_behalf_of: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(12))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(120))
    budget_minutes: Mapped[int | None] = mapped_column(Integer)
    budget_group: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[dict | None] = mapped_column(JSON)
    classification: Mapped[str | None] = mapped_column(String(10))
    margin_minutes: Mapped[int | None] = mapped_column(Integer)
    # Working minutes from the step's arrival to its completion (the officers' KPIs).
    working_minutes: Mapped[int | None] = mapped_column(Integer)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 warned, 2 breached, 3+ levels
    next_sla_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # next warning/breach/level to fire
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


def open_steps() -> ColumnElement[bool]:
    """A step still open (`OPEN_STEPS`), its states written into the statement (engine.store.among)
    so that PostgreSQL proves ix_work_item_assignee's condition from it."""
    return among(WorkItemRecord.state, OPEN_STATES)


#: The audit actions that reports read by period: the officers' returns, hand-overs and apology
#: letters (engine.store.kpi_queries, officer_rollups), the SLA levels fired and apologies asked
#: (engine.store.statistics.escalations).
PERIOD_ACTIONS = ("apology_requested", "reappoint", "reassign", "return", "sla_breach", "sla_escalation", "sla_warning")
#: The condition of ix_audit_event_at's rows: on PostgreSQL as migration 0042 wrote it; on SQLite as
#: comparisons, since SQLite builds a table of an IN list of more than two values at each INSERT
#: that evaluates it (an event's INSERT cost 48,000 instructions with the list, 15,600 with the
#: comparisons, 18,300 into an index of every event).
PERIOD_EVENTS = f"action IN {PERIOD_ACTIONS!r}"
PERIOD_EVENTS_SQLITE = " OR ".join(f"action = '{action}'" for action in PERIOD_ACTIONS)


class AuditEventRecord(Base):
    """Append-only: every start, claim, completion, hand-over and system action."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The reports that read events by period ask for these few actions only, never for the
        # starts, claims and completions that are nearly every event: the index holds those few
        # (PostgreSQL: migration 0042, SQLite: 0043 and 0044). The queries write their actions into the
        # statement (`among`), from which PostgreSQL proves the condition; SQLite proves a partial
        # index's condition only from the same expression, so they carry SQLite's word for word
        # (statistics.IN_PERIOD_INDEX).
        Index(
            "ix_audit_event_at",
            "at",
            postgresql_where=text(PERIOD_EVENTS),
            sqlite_where=text(PERIOD_EVENTS_SQLITE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key (migration 0046), as for a step's dossier: the dossier's trigger keeps it.
    dossier_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The step it concerns, joined by the step's key. No foreign key (migration 0045): its check,
    # run for every event at each claim and completion, cost PostgreSQL about 8% of those
    # requests' CPU, and the id always comes from the step the same change writes; no step is
    # ever deleted, and the chain's hash covers the id.
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))  # a username, or "system"
    on_behalf_of: Mapped[str | None] = mapped_column(String(80))
    giver: Mapped[str | None] = mapped_column(String(120))  # hand-over: from (user or role)
    receiver: Mapped[str | None] = mapped_column(String(120))  # hand-over: to (user or role)
    element_id: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # SHA-256 linking the event to the previous one of its dossier (engine.domain.audit_chain).
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    # Lets an event name a work item created in the same flush, before it has an id.
    work_item: Mapped[WorkItemRecord | None] = relationship(
        lazy="raise", primaryjoin="foreign(AuditEventRecord.work_item_id) == WorkItemRecord.id"
    )


class AuditChainRecord(Base):
    """The head of one audit chain (a dossier's, or key 0 for events without a dossier).

    Writers lock it to append, so two changes of one dossier never fork its chain; the database
    refuses UPDATE and DELETE on audit_event itself (triggers of migration 0009)."""

    __tablename__ = "audit_chain"

    chain_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_hash: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(Integer)


class OutboxRecord(Base):
    """A notification to deliver; the worker leases, sends and marks it, idempotently."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at"),
        # The portal channel sends a dossier's events in order (engine.services.portal_sync).
        Index("ix_outbox_channel_recipient", "channel", "recipient", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # in_app | email | sms | zalo
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sent | dead | off (no provider)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The web request whose change queued the message: the worker logs its delivery with it.
    request_id: Mapped[str | None] = mapped_column(String(64))


class NotificationRecord(Base):
    """In-app notifications: the delivered form of an in_app outbox row."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
