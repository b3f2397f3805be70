"""Dossier use cases: start, complete a step, claim, cancel, suspend, resume, send a message or signal.

Each function is one transaction: lock (optimistically, by the dossier's version column), load,
run, save the state, project work items, append audit, enqueue notifications, commit. A lost race
raises ConflictError and writes nothing.

On SQLite, whose write lock covers the whole database, a change that runs a template's code
(starting a dossier, completing a step, a message, a signal, a timer: engine.bpmn.scripted says
which do) first runs on a read snapshot and only then takes the write lock; the write reuses that
run when what it was computed from has not moved meanwhile (else it runs again under the lock),
so a slow script never locks other users out. Changes that run no code skip the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from engine.bpmn import fresh_starts
from engine.bpmn import runner
from engine.bpmn import scripted
from engine.bpmn.serializer import STATE_FORMAT
from engine.domain import deadlines
from engine.domain import decisions
from engine.domain.assignment import Actor
from engine.domain.assignment import StepHolding
from engine.domain.assignment import refusal_to_claim
from engine.domain.assignment import refusal_to_complete
from engine.domain.assignment import refusal_to_release
from engine.domain.errors import ConflictError
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.domain.errors import refuse
from engine.domain.limits import check_reason_length
from engine.domain.model import FINISHED_RUN_STATES
from engine.domain.model import Channel
from engine.domain.model import DossierStatus
from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.services import api_tokens
from engine.services import audit
from engine.services import citizen_notices
from engine.services import citizen_store
from engine.services import payments
from engine.services import projection
from engine.services import results
from engine.services import stored_files
from engine.services.runtime import Runtime
from engine.services.scripting import script_engine_for
from engine.services.unit_of_work import retried_on_race
from engine.services.unit_of_work import session_in
from engine.services.unit_of_work import transaction
from engine.store import catalogue_records
from engine.store import change_rows
from engine.store import loaded_rows
from engine.store import officer_rollups
from engine.store import open_stock
from engine.store import repositories
from engine.store import rollups
from engine.store import satisfaction_rollups
from engine.store import sequences
from engine.store import step_claims
from engine.store.database import Connection
from engine.store.database import Session
from engine.store.database import is_postgres
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import WorkItemRecord

#: Checks a step's submitted data inside the change's transaction: (session, item, dossier, data) -> data.
DataCheck = Callable[[Session, WorkItemRecord, DossierRecord, dict], Mapping]
#: Builds a caller's reply from the changed row inside the change's transaction.
Answer = Callable[[Session, object], object]
#: A step as its claim left it, what `claim_work_item` returns and answers from.
ClaimedStep = step_claims.ClaimedStep


def start_dossier(
    rt: Runtime,
    *,
    definition_id: int,
    unit_code: str,
    applicant_name: str,
    actor: Actor,
    applicant: Mapping | None = None,
    received_at: datetime | None = None,
    data: Mapping | None = None,
    channel: str = Channel.COUNTER.value,
    answer: Answer | None = None,
):
    """Receive a dossier (at the counter, online or by post): issue its code, compute its
    appointment and start its process. With `answer`, the caller's reply is built from the new
    dossier in the same transaction and returned instead of it."""
    _check_channel(channel)
    now = rt.clock.now()  # one time for the snapshot and the write: the run's data holds it

    receipt = _Receipt(definition_id, unit_code, applicant_name, actor, applicant, received_at, channel, now)

    def change(prepared: _PreparedStart | None, may_defer: bool):
        with transaction(rt) as s:
            started = _start(rt, s, receipt, data, prepared=prepared, runs_code=_on_start if may_defer else None)
            citizen_notices.dossier_received(s, started.dossier, started.now, started.calendar.tz)
            answered = _answered(s, started.dossier, answer)
            step = _step_to_keep(rt, s, started.dossier)
        _keep_saved(rt, started.dossier, started.run, step)
        return answered

    return code_first(change, lambda: _started_on_snapshot(rt, definition_id, unit_code, received_at or now, data))


R = TypeVar("R")
S = TypeVar("S")


class _CodeToRunFirst(Exception):
    """The change runs template code: leave the write lock and run it on a read snapshot first.
    `read` holds rows the write had read under its lock (detached from its session), which the
    snapshot run may use instead of reading them again."""

    def __init__(self, read: tuple = ()):
        super().__init__()
        self.read = read


def code_first(change: Callable[[S | None, bool], R], prepare: Callable[[], S]) -> R:
    """Run `change(None, may_defer=True)`; when, inside its write, it finds that template code
    will run (SQLite only), it gives the lock back before writing anything: `prepare()` then runs
    that code outside the lock and the change runs again with what it prepared."""
    try:
        return change(None, True)
    except _CodeToRunFirst:
        return change(prepare(), False)


def _on_start(paths: scripted.ScriptedPaths) -> bool:
    return paths.on_start()


def _on_reception(paths: scripted.ScriptedPaths) -> bool:
    return paths.on_reception()


@dataclass(frozen=True)
class _PreparedStart:
    """A process started outside the write lock, with the template version it ran and the
    dossier code already taken for it."""

    run: runner.Run
    definition_id: int
    code: str


def _started_on_snapshot(
    rt: Runtime, definition_id: int, unit_code: str, received: datetime, data: Mapping | None
) -> _PreparedStart | None:
    """SQLite only, when the template runs code before its first waiting element: take the
    dossier's number in a short write of its own (as PostgreSQL always does: a start that fails
    later leaves its number unused, engine.store.sequences), then start the process on a read
    snapshot under that code. Refusals are left to the write, which gives them unchanged."""
    if not holds_database_lock(rt):
        return None
    with rt.db.read_session() as s:
        template = _template_on_snapshot(rt, s, definition_id, unit_code)
        if template is None or not scripted.paths_of(template[2]).on_start():
            return None
        definition, unit, bundle = template
        calendar = rt.calendars.for_unit(s, unit_code)
    code = _number_in_own_write(rt, unit, received, calendar)
    run = runner.start(  # code runs on this start: never a copy (engine.bpmn.fresh_starts)
        bundle, rt.clock, script_engine_for(calendar, rt.clock), _start_data(data, code, unit_code, received, calendar)
    )
    return _PreparedStart(run, definition.id, code)


def _template_on_snapshot(rt: Runtime, s: Session, definition_id: int, unit_code: str):
    """(template version, unit, parsed bundle) a start in `unit_code` would use, read on the
    snapshot; None when the start would be refused, which is left to the write to say."""
    try:
        definition, _variant, unit = _definition_for_unit(s, definition_id, unit_code)
    except (NotFound, InvalidAction):
        return None
    return definition, unit, rt.bundle_for(s, definition)


def _number_in_own_write(rt: Runtime, unit, received: datetime, calendar) -> str:
    """The dossier's number taken in a short write of its own (a start that fails later leaves it
    unused, as on PostgreSQL)."""
    with rt.db.session() as taking:
        return _dossier_code(rt, taking, unit, received, calendar)


def _start_data(data: Mapping | None, code: str, unit_code: str, received: datetime, calendar) -> dict:
    return {
        **(data or {}),
        "dossier_code": code,
        "unit_code": unit_code,
        "received_at": received.astimezone(calendar.tz).isoformat(),
    }


@dataclass
class Started:
    """A dossier started inside a change that may go on with it (reception in one pass)."""

    dossier: DossierRecord
    run: runner.Run
    calendar: object
    created: list[WorkItemRecord]
    now: datetime


def receive_dossier(
    rt: Runtime,
    *,
    definition_id: int,
    unit_code: str,
    applicant_name: str,
    actor: Actor,
    reception: Mapping,
    check_reception: Callable[[Session, int, str | None, Mapping], Mapping],
    applicant: Mapping | None = None,
    received_at: datetime | None = None,
    channel: str = Channel.COUNTER.value,
    files: Iterable[stored_files.Staged] = (),
    within_change: Callable[[Session, DossierRecord], None] | None = None,
    reused: Mapping[int, int] | None = None,
    payment: payments.Payment | None = None,
) -> tuple[DossierRecord, WorkItemRecord]:
    """Reception in one pass: issue the code and appointment, start the process and complete its
    reception step with `reception` (the step's form data: receive, ask for a supplement or refuse)
    and the checklist's files, all in one transaction. `reused` ({checklist index: document id})
    links documents of the applicant's data store instead of new scans (engine.services.citizen_store). `check_reception(session, definition_id,
    form_key, data)` validates the data against the reception step's form (the configurator's)
    inside that transaction and returns it clean; `within_change(session, dossier)`, when given,
    writes what else belongs to the receipt (an online submission marked accepted) in it too. The
    applicant's `fees` (the cases picked) and a `payment` at the counter decide whether the dossier
    waits for its fees (status 6).

    Nothing is written, and no file stays stored, when any part is refused."""
    _check_channel(channel)
    refuse(decisions.refusal_without_reason(reception))
    if payment is not None:
        payments.check_payment(payment)
    now = rt.clock.now()  # one time for the snapshot and the write: the run's data holds it
    with stored_files.staged_files(rt, files) as staged:
        receipt = _Receipt(definition_id, unit_code, applicant_name, actor, applicant, received_at, channel, now)

        def change(prepared: _PreparedReception | None, may_defer: bool):
            with transaction(rt) as s:
                started = _start(
                    rt,
                    s,
                    receipt,
                    None,
                    prepared=prepared.start if prepared else None,
                    runs_code=_on_reception if may_defer else None,
                    paid_vnd=payment.amount_vnd if payment else 0,
                )
                if len(started.created) != 1:
                    raise InvalidAction("the template does not begin with one reception step; receive it step by step")
                item = started.created[0]
                data = dict(check_reception(s, started.dossier.definition_id, item.form_key, reception))
                refuse(decisions.refusal_without_reason(data))
                _complete_reception(
                    s,
                    started,
                    item,
                    actor,
                    data,
                    received=(prepared.received if prepared and prepared.fits(started, item, data) else None),
                )
                s.flush()  # the step's id, for its files
                stored_files.add_rows(s, started.dossier, staged, actor, started.now, work_item_id=item.id)
                if within_change is not None:
                    within_change(s, started.dossier)
                citizen_store.link_reused(s, started.dossier, dict(reused or {}), actor, started.now, item.id)
                if payment is not None:
                    payments.add_payment(s, started.dossier, payment, actor, started.now)
                citizen_notices.dossier_received(s, started.dossier, started.now, started.calendar.tz)
                return started.dossier, item

        return code_first(
            change,
            lambda: _received_on_snapshot(rt, definition_id, unit_code, received_at or now, reception, check_reception),
        )


@dataclass(frozen=True)
class _PreparedReception:
    """A receipt run outside the write lock: the process started (reloaded from its state, for
    the write to project the start's steps from) and the same process with its reception step
    completed with the checked data."""

    start: _PreparedStart
    received: runner.Run | None
    ready_before: frozenset[str]
    task_id: str
    data: dict

    def fits(self, started: Started, item: WorkItemRecord, data: Mapping) -> bool:
        """The write started from this very run, projected it without moving it, and checked the
        same data for the same step."""
        return (
            self.received is not None
            and started.run is self.start.run
            and started.run.ready_task_ids() == self.ready_before
            and item.task_id == self.task_id
            and dict(data) == self.data
        )


def _received_on_snapshot(
    rt: Runtime, definition_id: int, unit_code: str, received: datetime, reception: Mapping, check_reception
) -> _PreparedReception | None:
    """SQLite only, when the receipt runs template code (at the start or after the reception
    step): check the reception data on a read snapshot, take the dossier's number in a short write
    of its own, then start the process and complete its reception step outside the write lock.
    None when there is nothing to run first or the write should give the refusal itself."""
    if not holds_database_lock(rt):
        return None
    with rt.db.read_session() as s:
        template = _template_on_snapshot(rt, s, definition_id, unit_code)
        if template is None:
            return None
        definition, unit, bundle = template
        paths = scripted.paths_of(bundle)
        firsts = paths.first_steps()
        if not paths.on_reception() or len(firsts) != 1:
            return None
        step = bundle.step(firsts[0])
        data = dict(check_reception(s, definition.id, (step.form if step else None) or firsts[0], reception))
        refuse(decisions.refusal_without_reason(data))
        calendar = rt.calendars.for_unit(s, unit_code)
    code = _number_in_own_write(rt, unit, received, calendar)
    engine = script_engine_for(calendar, rt.clock)
    run = fresh_starts.start(bundle, rt.clock, engine, _start_data(None, code, unit_code, received, calendar))
    tasks = run.human_tasks()
    if [task.element_id for task in tasks] != firsts:  # the write gives the refusal, under this code
        return _PreparedReception(_PreparedStart(run, definition.id, code), None, frozenset(), "", {})
    start = _PreparedStart(runner.load(bundle, run.dump(), rt.clock, engine), definition.id, code)
    ready_before = run.ready_task_ids()
    run.complete(tasks[0].task_id, dict(data))
    return _PreparedReception(start, run, ready_before, tasks[0].task_id, data)


def _complete_reception(
    s: Session, started: Started, item: WorkItemRecord, actor: Actor, data: Mapping, received: runner.Run | None = None
) -> None:
    """The receiving officer takes the reception step and completes it in the same change. Under
    Decree 118 they may receive for another commune of the province, so the step's unit is not theirs
    to match; its role is. `received`: the same run with the step already completed (on SQLite's
    read snapshot), else it is completed here."""
    if not actor.is_system and item.role and item.role not in actor.roles:
        raise PermissionDenied("step '%(step)s' is for role %(role)s", step=item.name, role=item.role)
    dossier, run, now = started.dossier, started.run, started.now
    item.assignee, item.state, item.claimed_at = actor.username, WorkItemState.CLAIMED.value, now
    ready_before = run.ready_task_ids()
    if received is not None:
        run = received
    else:
        run.complete(item.task_id, dict(data))
    close_item(s, item, actor, now, data, started.calendar, dossier_rated=bool(dossier.rated))
    audit.record(
        s,
        at=now,
        action="complete",
        actor=actor,
        dossier_id=dossier.id,
        work_item=item,
        element_id=item.element_id,
        classification=item.classification,
        margin_minutes=item.margin_minutes,
    )
    projection.sync(
        s,
        dossier,
        run,
        started.calendar,
        actor,
        now,
        ready_before,
        handed_over_by=actor.username,
        completed_task=item.task_id,
    )


def _definition_for_unit(s: Session, definition_id: int, unit_code: str):
    """The published version a dossier of `unit_code` runs, its variant (or None) and the unit."""
    read = repositories.start_rows(s, definition_id, unit_code)
    if read is None:
        raise NotFound("unknown process definition %(id)s", field="definition_id", id=definition_id)
    definition, variant, unit = _refuse_unpublished(read.definition), read.variant, read.unit
    if read.retired is not None:
        raise _retired(definition.key, *read.retired, field="definition_id")
    if unit is None:
        raise NotFound("unknown unit '%(unit)s'", field="unit_code", unit=unit_code)
    if variant is not None and variant.definition_id != definition.id:
        # The version rolled out to the unit is the one its dossiers run (a desk may offer
        # another version of the same template, e.g. the newest before it reached this unit).
        rolled_out = s.get(ProcessDefinitionRecord, variant.definition_id)
        if rolled_out is not None and rolled_out.status == "published":
            definition = rolled_out
        else:
            variant = None
    return definition, variant, unit


#: Read once: the set built on every start cost a dozen Python calls (the enum's values).
_CHANNELS = frozenset(c.value for c in Channel)
# The values every step's change compares or writes, read once: an enum member's `.value` is two
# Python calls (the property and its getter).
_RUNNING = RunState.RUNNING.value
_COMPLETED_STEP = WorkItemState.COMPLETED.value


def _check_channel(channel: str) -> None:
    if channel not in _CHANNELS:
        raise InvalidAction(
            "unknown receipt channel '%(channel)s' (counter, online or post)", field="channel", channel=channel
        )


@dataclass(frozen=True)
class _Receipt:
    """What a dossier is received with, at the counter or through the API, online or by post."""

    definition_id: int
    unit_code: str
    applicant_name: str
    actor: Actor
    applicant: Mapping | None
    received_at: datetime | None
    channel: str
    now: datetime


def _start(
    rt: Runtime,
    s: Session,
    receipt: _Receipt,
    data: Mapping | None,
    *,
    prepared: _PreparedStart | None = None,
    runs_code: Callable[[scripted.ScriptedPaths], bool] | None = None,
    paid_vnd: int = 0,
) -> Started:
    """The dossier started inside the change's transaction. `runs_code(paths)`, on SQLite, says
    whether the change runs template code; then the change gives the lock back before writing
    (_CodeToRunFirst) to run that code outside it first, coming back with it `prepared`."""
    definition_id, unit_code, applicant_name = receipt.definition_id, receipt.unit_code, receipt.applicant_name
    actor, applicant, channel, now = receipt.actor, receipt.applicant, receipt.channel, receipt.now
    definition, variant, unit = _definition_for_unit(s, definition_id, unit_code)
    if (applicant or {}).get("fees"):  # the fee cases that apply: paid first where the procedure says so
        applicant = {
            **applicant,
            "fee_wait": payments.waits_at_reception(s, definition_id, applicant["fees"], paid_vnd),
        }
    if runs_code is not None and holds_database_lock(rt) and runs_code(scripted.paths_of(rt.bundle_for(s, definition))):
        raise _CodeToRunFirst()
    received = receipt.received_at or now
    calendar = rt.calendars.for_unit(s, unit_code)
    code = prepared.code if prepared is not None else _dossier_code(rt, s, unit, received, calendar)
    rule = deadlines.ClockStartRule(cutoff=_cutoff(definition.clock_cutoff), last_hour_rule=definition.clock_last_hour)
    start_at = deadlines.clock_start(calendar, received, rule)
    appointment = (
        deadlines.appointment(calendar, received, definition.legal_limit_minutes, rule)
        if definition.legal_limit_minutes is not None
        else None
    )
    if prepared is not None and prepared.definition_id == definition.id:
        run = prepared.run
    else:  # no snapshot (PostgreSQL, no code to run), or another version rolled out meanwhile
        run = fresh_starts.start(
            rt.bundle_for(s, definition),
            rt.clock,
            script_engine_for(calendar, rt.clock),
            _start_data(data, code, unit_code, received, calendar),
        )
    # Built as the projection builds a new step (loaded_rows.built): the constructor's attribute
    # event per column was a hundred Python calls, and its INSERT writes the dict either way.
    dossier = loaded_rows.built(
        DossierRecord,
        {
            "code": code,
            "definition_id": definition.id,
            "unit_code": unit_code,
            "procedure_code": definition.procedure_code,
            "applicant_name": applicant_name,
            "applicant": dict(applicant or {}),
            "channel": channel,
            "status": DossierStatus.ACCEPTED.value,
            "variant_id": variant.id if variant else None,
            "overrides": dict(variant.overrides) if variant else None,
            "run_state": RunState.RUNNING.value,
            "received_at": received,
            "clock_start_at": start_at,
            "appointment_at": appointment,
            "original_appointment_at": appointment,
            "state": "",
            "state_format": STATE_FORMAT,
            "created_at": now,
            "updated_at": now,
        },
    )
    change_rows.null_unset_columns(dossier)
    loaded_rows.add_built(s, dossier)  # a dossier cascades to nothing: no walk of its mapper
    change_rows.insert_new(s, dossier)
    audit.new_chain(s, dossier.id)
    rollups.record_received(s, dossier)
    audit.record(
        s,
        at=now,
        action="start",
        actor=actor,
        dossier_id=dossier.id,
        code=code,
        definition=f"{definition.key} v{definition.version}",
        appointment_at=appointment.isoformat() if appointment else None,
    )
    created = projection.sync(s, dossier, run, calendar, actor, now, ready_before=frozenset())
    return Started(dossier, run, calendar, created, now)


@retried_on_race
def complete_work_item(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    data: Mapping | None = None,
    *,
    expected_version: int | None = None,
    check: DataCheck | None = None,
    seen_by: Callable[[str], bool] | None = None,
    answer: Answer | None = None,
):
    """Complete a step with its form data and move the dossier on to its next steps.

    Everything the change needs is read in its one transaction: `seen_by(unit_code)` answers a
    step the caller may not see as unknown; `check(session, item, dossier, data)` returns the data
    to store (the configurator checks it against the step's form) or raises; `answer(session,
    dossier)`, when given, builds the caller's reply from the changed dossier in the same
    transaction (its new steps included) and is returned instead of the dossier.

    On SQLite, a step after which template code runs is first completed on a read snapshot: the
    write finds that out from the step it reads, gives the lock back at once, and comes back
    with the snapshot's run; a step after which no code runs costs no snapshot at all.

    Raises InvalidAction naming the reason's field when the data refuses the dossier without
    saying why (the refusal slip prints it)."""
    if check is None:
        refuse(decisions.refusal_without_reason(data or {}))
    kept = _ran_on_kept(rt, work_item_id, actor, data, check)
    try:
        snapshot = kept.snapshot if kept is not None else None
        return _completed(rt, work_item_id, actor, data, expected_version, check, seen_by, answer, snapshot=snapshot)
    except _CodeToRunFirst as first:
        item, dossier = first.read
        if kept is not None and kept.failure is not None and kept.ran_on(dossier, item):
            raise kept.failure from None  # the code failed on these very rows: it would again
        snapshot = _ran_on_snapshot(rt, item, dossier, actor, data, check)
        return _completed(
            rt, work_item_id, actor, data, expected_version, check, seen_by, answer, snapshot=snapshot or _NO_SNAPSHOT
        )


def _completed(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    data,
    expected_version,
    check,
    seen_by,
    answer: Answer | None,
    snapshot: _SnapshotRun | None,
):
    with transaction(rt) as s:
        item, dossier = open_item(s, work_item_id, expected_version, seen_by)
        if (
            (snapshot is None or (snapshot.kept and not snapshot.ran_on(dossier, item)))
            and holds_database_lock(rt)
            and scripted.paths_of(rt.bundle_for_definition(s, dossier.definition_id)).after_step(item.element_id)
        ):
            # Nothing written yet: the rollback only ends the BEGIN. What was read here, under the
            # lock, is a consistent snapshot: the code runs on it without reading it again.
            s.expunge(item)
            s.expunge(dossier)
            raise _CodeToRunFirst((item, dossier))
        if check is not None:
            data = check(s, item, dossier, dict(data or {}))
            refuse(decisions.refusal_without_reason(data))
        refuse(refusal_to_complete(actor, StepHolding.of(item)))
        now = rt.clock.now()
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        if snapshot is not None and snapshot.still_fits(dossier, item, data):
            run, ready_before = snapshot.run, snapshot.ready_before
        else:  # no code to run, PostgreSQL (which locks rows only), or the dossier moved meanwhile
            run = load_run(rt, s, dossier, calendar)
            ready_before = run.ready_task_ids()
            run.complete(item.task_id, dict(data or {}))
        close_item(s, item, actor, now, data, calendar, dossier_rated=dossier.rated)
        results.note_approval(s, dossier, item, data, actor, now)
        audit.record(
            s,
            at=now,
            action="complete",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            classification=item.classification,
            margin_minutes=item.margin_minutes,
        )
        projection.sync(
            s,
            dossier,
            run,
            calendar,
            actor,
            now,
            ready_before,
            handed_over_by=actor.username,
            completed_task=item.task_id,
        )
        answered = _answered(s, dossier, answer)
        step = _step_to_keep(rt, s, dossier)
    _keep_saved(rt, dossier, run, step)
    return answered


@dataclass(frozen=True)
class _SnapshotRun:
    """A step completed on a read snapshot: what the write may reuse, and what it was run on."""

    run: runner.Run | None
    ready_before: frozenset[str]
    dossier_version: int
    item_version: int
    data: dict
    #: Run on the rows this process last wrote (_ran_on_kept) instead of rows read under the lock.
    kept: bool = False

    def still_fits(self, dossier: DossierRecord, item: WorkItemRecord, data) -> bool:
        return self.run is not None and self.ran_on(dossier, item) and dict(data or {}) == self.data

    def ran_on(self, dossier: DossierRecord, item: WorkItemRecord) -> bool:
        return (dossier.version, item.version) == (self.dossier_version, self.item_version)


#: The snapshot pass ran but gave nothing to reuse (a refusal left to the write): run in the write.
_NO_SNAPSHOT = _SnapshotRun(None, frozenset(), -1, -1, {})


def _ran_on_snapshot(
    rt: Runtime, item: WorkItemRecord, dossier: DossierRecord, actor: Actor, data, check
) -> _SnapshotRun | None:
    """SQLite only: the step's scripts run here, outside the write lock, on the step and dossier
    the write read (and checked: known, visible, open, the version shown) before giving the lock
    back; same checks of the data and the actor, same refusals as the write."""
    with rt.db.read_session() as s:
        bundle = rt.bundle_for_definition(s, dossier.definition_id)
        if check is not None:
            data = check(s, item, dossier, dict(data or {}))
            refuse(decisions.refusal_without_reason(data))
        refuse(refusal_to_complete(actor, StepHolding.of(item)))
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = _run_from(rt, bundle, dossier, calendar)
        ready_before = run.ready_task_ids()
        run.complete(item.task_id, dict(data or {}))
        return _SnapshotRun(run, ready_before, dossier.version, item.version, dict(data or {}))


@dataclass(frozen=True)
class _KeptRun:
    """A step's code run on the rows this process last wrote (engine.services.kept_steps): the
    snapshot's run, or what it failed with, and the versions of the rows it ran on."""

    snapshot: _SnapshotRun | None
    failure: Exception | None
    dossier_version: int
    item_version: int

    def ran_on(self, dossier: DossierRecord, item: WorkItemRecord) -> bool:
        return (dossier.version, item.version) == (self.dossier_version, self.item_version)


def _ran_on_kept(rt: Runtime, work_item_id: int, actor: Actor, data, check) -> _KeptRun | None:
    """SQLite only: a step followed by code whose rows this process wrote last has that code run
    on them at once, before any lock or read (None for any other step). Nothing here decides the
    answer: the write reads the step and its dossier under the lock, checks and refuses on what it
    read, and reuses the run only if neither row moved since; otherwise, or when the code failed,
    it gives the lock back and the code runs again on what it read (a failure on these very rows
    is raised then, without running the code twice)."""
    kept = rt.kept_steps.take(work_item_id)
    if kept is None:
        return None
    item, dossier = kept
    versions = (dossier.version, item.version)
    try:
        snapshot = _ran_on_snapshot(rt, item, dossier, actor, data, check)
    except Exception as failed:  # noqa: BLE001 - raised only once the rows read under the lock are these
        return _KeptRun(None, failed, *versions)
    return _KeptRun(replace(snapshot, kept=True), None, *versions)


def _step_to_keep(rt: Runtime, s: Session, dossier: DossierRecord) -> WorkItemRecord | None:
    """The dossier's one open step when this change created it and template code follows it
    (SQLite, where that code runs outside the write lock): its completion may run the code on
    the rows as committed (engine.services.kept_steps)."""
    if not holds_database_lock(rt) or dossier.run_state != _RUNNING:
        return None
    created = repositories.known_open_items(s, dossier.id)
    if created is None or len(created) != 1:
        return None
    paths = scripted.paths_of(rt.bundle_for_definition(s, dossier.definition_id))
    return created[0] if paths.after_step(created[0].element_id) else None


def holds_database_lock(rt: Runtime) -> bool:
    """SQLite's write lock covers the whole database; PostgreSQL's changes lock their own rows."""
    return rt.db.engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class Moved:
    """A dossier moved by an event (message, signal, timer) on a read snapshot, with what the
    move returned; the write reuses it while the dossier's version is the one it was run on."""

    run: runner.Run
    ready_before: frozenset[str]
    dossier_version: int
    result: object = None


def moved_on_snapshot(
    rt: Runtime,
    dossier_id: int,
    move: Callable[[runner.Run], object],
    admits: Callable[[DossierRecord], bool] = lambda _dossier: True,
) -> Moved | None:
    """Load the dossier from a read snapshot and `move` it there, outside SQLite's write lock.
    None when the write should simply run the move itself (a dossier `admits` refuses or that
    is not running: the write then gives the same answer)."""
    with rt.db.read_session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        if dossier is None or dossier.run_state != RunState.RUNNING.value or not admits(dossier):
            return None
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = load_run(rt, s, dossier, calendar)
        ready_before = run.ready_task_ids()
        result = move(run)
        return Moved(run, ready_before, dossier.version, result)


def moved(
    rt: Runtime,
    s: Session,
    dossier: DossierRecord,
    calendar,
    move: Callable[[runner.Run], object],
    snapshot: Moved | None,
    runs_code: Callable[[scripted.ScriptedPaths], bool] | None,
) -> Moved:
    """Inside the write: the snapshot's move when the dossier has not changed since, else the
    move run here, on what is saved. With `runs_code` (the first attempt), on SQLite, a move
    that runs template code gives the lock back first (_CodeToRunFirst, see code_first)."""
    if snapshot is not None and snapshot.dossier_version == dossier.version:
        return snapshot
    bundle = rt.bundle_for_definition(s, dossier.definition_id)
    if runs_code is not None and holds_database_lock(rt) and runs_code(scripted.paths_of(bundle)):
        raise _CodeToRunFirst()
    run = _run_from(rt, bundle, dossier, calendar)
    ready_before = run.ready_task_ids()
    return Moved(run, ready_before, dossier.version, move(run))


@retried_on_race
def claim_work_item(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    *,
    seen_by: Callable[[str], bool] | None = None,
    answer: Callable[[Connection, ClaimedStep], object] | None = None,
    answer_writes: bool = True,
):
    """Take a step of one's role into one's own hands (`seen_by` as for completing); the step as
    claimed (a ClaimedStep) unless `answer`, given the claim's connection and the step inside its
    transaction, says otherwise; `answer_writes=False` says it writes nothing (no
    Idempotency-Key's record), so that the claim's COMMIT may go with its statement.

    A free step is taken by one guarded write (engine.store.step_claims), on PostgreSQL with its
    audit event and with who may take it (unit, role, who may see it) and the request's token
    checked in the statement itself: a claim that succeeds is then one network wait, its COMMIT
    riding with it. A step it did not take is read first, as any change reads it, which names the
    reason (or sets a deadline that starts at the claim). The claim runs on a Core connection: an
    ORM session joins its transaction only for that read or an event recorded the usual way (on
    SQLite, where who may take the step is checked on what the write returns and a refusal rolls
    it back)."""
    taker = _taker(actor, seen_by)
    commit = taker is not None and not answer_writes
    # The kept token's check goes in the statement: its lookup would be heard after the COMMIT.
    token = api_tokens.check_in_statement() if commit else None
    with rt.db.change() as connection:
        now = rt.clock.now()
        claim = step_claims.claim_if_free(
            connection,
            work_item_id,
            actor.username,
            now,
            actor.on_behalf_of,
            taker=taker,
            token_check=None if token is None else token.parameters,
            commit=commit,
        )
        if claim is None and token is not None:
            api_tokens.settle_unwritten(rt, token)  # the token may be why: then that is the answer
        if step_claims.committed(connection):
            if claim is not None:  # every check was the statement's
                return claim.step if answer is None else answer(connection, claim.step)
        else:
            step = _claimed_the_usual_way(rt, connection, claim, work_item_id, actor, seen_by, now)
            return step if answer is None else answer(connection, step)
    # Refused or not taken, its transaction already over: the step's read names the reason.
    with rt.db.change() as connection:
        step = _claimed_the_usual_way(rt, connection, None, work_item_id, actor, seen_by, now)
        return step if answer is None else answer(connection, step)


def _taker(actor: Actor, seen_by: Callable[[str], bool] | None) -> step_claims.Taker | None:
    """Who may take a step, for the claim's statement to check (engine.domain.assignment's rule
    for a free step: a unit the actor works in, a role they hold or none), when every unit that
    admits is one `seen_by` shows them; None when the statement cannot say (the system, which may
    take any step; a `seen_by` narrower than the actor's units): checked on the step it returns."""
    if actor.is_system:
        return None
    units = (actor.unit_code, *actor.supervised_units) if actor.unit_code else tuple(actor.supervised_units)
    if seen_by is not None and not all(seen_by(unit) for unit in units):
        return None
    return step_claims.Taker(units, tuple(actor.roles))


def _claimed_the_usual_way(
    rt: Runtime,
    connection: Connection,
    claim: step_claims.Claim | None,
    work_item_id: int,
    actor: Actor,
    seen_by: Callable[[str], bool] | None,
    now: datetime,
) -> step_claims.ClaimedStep:
    """In the claim's open transaction: a step the guarded write took, checked and its event
    recorded if the write did not log it; else the claim written through the step's read."""
    if claim is None:
        with session_in(rt, connection) as s:
            step = _claim_read_first(rt, s, work_item_id, actor, seen_by, now)
            _record_claim(s, now, actor, step)
        return step
    step = claim.step
    if seen_by is not None and not seen_by(step.unit_code):
        raise NotFound("unknown work item %(id)s", id=work_item_id)
    refuse(refusal_to_claim(actor, StepHolding(step.unit_code, step.role, None)))
    if claim.logged is None:
        with session_in(rt, connection) as s:
            audit.seen_head(s, step.dossier_id, claim.head)
            _record_claim(s, now, actor, step)
    return step


def _record_claim(s: Session, now: datetime, actor: Actor, step: step_claims.ClaimedStep) -> None:
    audit.record(
        s,
        at=now,
        action="claim",
        actor=actor,
        dossier_id=step.dossier_id,
        work_item_id=step.id,
        element_id=step.element_id,
        giver=step.role,
        receiver=actor.username,
    )


def _claim_read_first(
    rt: Runtime, s: Session, work_item_id: int, actor: Actor, seen_by: Callable[[str], bool] | None, now: datetime
) -> step_claims.ClaimedStep:
    """The claim written through the step's read: the reason it is refused, or the step taken with
    the deadline that starts at its claim."""
    item, dossier = open_item(s, work_item_id, None, seen_by, runs_workflow=False)
    refuse(refusal_to_claim(actor, StepHolding.of(item)))
    item.assignee, item.state, item.claimed_at = actor.username, WorkItemState.CLAIMED.value, now
    if item.due_at is None:
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        bundle = rt.bundle_for_definition(s, dossier.definition_id)
        projection.set_deadlines_on_claim(s, item, bundle, calendar, now)
    change_rows.write(s)
    s.flush()  # the step's new version
    return step_claims.ClaimedStep.of(item, dossier.code)


@retried_on_race
def unclaim_work_item(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    *,
    seen_by: Callable[[str], bool] | None = None,
    answer: Answer | None = None,
):
    """Put a claimed step back in its role's pool (`seen_by` as for completing): the step as
    released (a ClaimedStep), or what `answer`, given the change's connection or session and that
    step inside its transaction, makes of it.

    On PostgreSQL its holder's release is one statement with its audit event, who may release it
    and the request's kept token checked in it, its BEGIN and COMMIT riding along: one network
    wait (engine.store.step_claims.release_if_held). Any other release, and a refusal, is read
    and written through the step's read, which names the reason."""
    released = _released_in_one_statement(rt, work_item_id, actor, seen_by, answer)
    if released is not None:
        return released
    with transaction(rt) as s:
        item, dossier = open_item(s, work_item_id, None, seen_by, runs_workflow=False)
        refuse(refusal_to_release(actor, StepHolding.of(item)))
        now = rt.clock.now()
        audit.record(
            s,
            at=now,
            action="unclaim",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            giver=item.assignee,
            receiver=item.role,
        )
        # Back in the pool nobody acts on anyone's behalf any more.
        item.assignee, item.state, item.on_behalf_of = None, WorkItemState.OPEN.value, None
        if not audit.write_pending(s):  # before the rows, as `_answered` writes them
            change_rows.write(s)
            s.flush()  # the step's new version
        step = step_claims.ClaimedStep.of(item, dossier.code)
        return step if answer is None else answer(s, step)


def _released_in_one_statement(
    rt: Runtime, work_item_id: int, actor: Actor, seen_by: Callable[[str], bool] | None, answer: Answer | None
) -> object | None:
    """The release as one statement (PostgreSQL, the actor's own step in units they see): the
    step as released or its answer; None when it took nothing (then nothing was written)."""
    taker = _taker(actor, seen_by)
    if taker is None or not is_postgres(rt.db.engine):
        return None
    token = api_tokens.check_in_statement()
    with rt.db.change() as connection:
        step = step_claims.release_if_held(
            connection,
            work_item_id,
            actor.username,
            rt.clock.now(),
            actor.on_behalf_of,
            units=taker.units,
            token_check=None if token is None else token.parameters,
        )
        if step is None:
            if token is not None:
                api_tokens.settle_unwritten(rt, token)  # the token may be why: then that is the answer
            return None
        return step if answer is None else answer(connection, step)


@retried_on_race
def send_message(
    rt: Runtime,
    dossier_id: int,
    name: str,
    actor: Actor,
    payload: Mapping | None = None,
    *,
    answer: Answer | None = None,
):
    """Deliver a BPMN message (e.g. 'bo_sung_xong') to the dossier's waiting catch event
    (`answer` as for completing a step). What the message carries is kept with the element that
    caught it in the audit trail, so it reads as that step's entry in the dossier's data."""
    event: dict = {"action": "message", "message": name}

    def move(run: runner.Run) -> None:
        wait = next((w for w in run.message_waits() if w.event == name), None)
        if wait is not None:
            event.update(element_id=wait.element_id, step=wait.name, payload=dict(payload or {}))
        run.send_message(name, payload)

    return _deliver_event(rt, dossier_id, actor, move, lambda paths: paths.after_message(name), event, answer)


def message_waits(rt: Runtime, dossier_id: int) -> list[runner.MessageWait]:
    """What a running dossier waits for from outside (another agency's answer), if anything."""
    with rt.db.read_session() as s:
        dossier = get_dossier(s, dossier_id)
        if dossier.run_state != RunState.RUNNING.value:
            return []
        return load_run(rt, s, dossier, rt.calendars.for_unit(s, dossier.unit_code)).message_waits()


@retried_on_race
def send_signal(rt: Runtime, dossier_id: int, name: str, actor: Actor, *, answer: Answer | None = None):
    """Deliver a BPMN signal to the dossier's waiting catch events (another agency's system
    saying its part is done, say; `answer` as for completing a step)."""

    def move(run: runner.Run) -> None:
        run.send_signal(name)

    return _deliver_event(
        rt,
        dossier_id,
        actor,
        move,
        lambda paths: paths.after_signal(name),
        {"action": "signal", "signal": name},
        answer,
    )


def _deliver_event(
    rt: Runtime,
    dossier_id: int,
    actor: Actor,
    move: Callable[[runner.Run], None],
    code_after: Callable,
    event: dict,
    answer: Answer | None,
):
    """A message or a signal moves the dossier on: run on a read snapshot first when template code
    follows it (SQLite), then written with its audit event in one transaction."""

    def change(snapshot: Moved | None, may_defer: bool):
        with transaction(rt) as s:
            dossier = _running(s, dossier_id)
            now = rt.clock.now()
            calendar = rt.calendars.for_unit(s, dossier.unit_code)
            done = moved(rt, s, dossier, calendar, move, snapshot, code_after if may_defer else None)
            audit.record(s, at=now, actor=actor, dossier_id=dossier.id, **event)
            projection.sync(s, dossier, done.run, calendar, actor, now, done.ready_before)
            return _answered(s, dossier, answer)

    return code_first(change, lambda: moved_on_snapshot(rt, dossier_id, move))


@retried_on_race
def suspend_dossier(rt: Runtime, dossier_id: int, actor: Actor, reason: str) -> DossierRecord:
    """Stop the engine moving the dossier (no timers fire, no step can be completed)."""
    with transaction(rt) as s:
        dossier = _running(s, dossier_id)
        dossier.run_state = RunState.SUSPENDED.value
        dossier.updated_at = rt.clock.now()
        audit.record(s, at=dossier.updated_at, action="suspend", actor=actor, dossier_id=dossier.id, reason=reason)
        return dossier


@retried_on_race
def resume_dossier(rt: Runtime, dossier_id: int, actor: Actor) -> DossierRecord:
    with transaction(rt) as s:
        dossier = get_dossier(s, dossier_id)
        if dossier.run_state != RunState.SUSPENDED.value:
            raise InvalidAction(
                "dossier %(code)s is not suspended (it is %(state)s)", code=dossier.code, state=dossier.run_state
            )
        now = rt.clock.now()
        dossier.run_state = RunState.RUNNING.value
        dossier.updated_at = now
        audit.record(s, at=now, action="resume", actor=actor, dossier_id=dossier.id)
        # Timers that fell due while suspended fire now, on the worker's next pass.
        return dossier


@retried_on_race
def cancel_dossier(
    rt: Runtime,
    dossier_id: int,
    actor: Actor,
    reason: str,
    status: DossierStatus = DossierStatus.STOPPED,
    *,
    withdrawn: bool = False,
) -> DossierRecord:
    """Stop a dossier with a stop notice (thông báo dừng xử lý): at the applicant's request
    (`withdrawn`, Decree 118's withdrawal) or by the unit. The one-stop desk or a leader of the
    dossier's unit does it, with a reason; its open steps are withdrawn."""
    if not (reason or "").strip():
        if withdrawn:
            raise InvalidAction(
                "the applicant's withdrawal needs a reason (it is printed on the stop notice)", field="reason"
            )
        raise InvalidAction("stopping a dossier needs a reason (it is printed on the stop notice)", field="reason")
    check_reason_length(reason)
    with transaction(rt) as s:
        dossier = get_dossier(s, dossier_id)
        if not actor.may_stop_dossier(dossier.unit_code):
            raise PermissionDenied(
                "only the one-stop desk or a leader of unit %(unit)s may stop dossier %(code)s",
                unit=dossier.unit_code,
                code=dossier.code,
            )
        if dossier.run_state in FINISHED_RUN_STATES:
            raise InvalidAction("dossier %(code)s is already %(state)s", code=dossier.code, state=dossier.run_state)
        now = rt.clock.now()
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = load_run(rt, s, dossier, calendar)
        run.cancel()
        for item in projection.open_items(s, dossier.id):
            item.state, item.completed_at, item.next_sla_at = WorkItemState.CANCELLED.value, now, None
        dossier.state = run.dump()
        dossier.run_state, dossier.status = RunState.CANCELLED.value, status.value
        dossier.next_timer_at, dossier.completed_at, dossier.updated_at = None, now, now
        rollups.record_closed(s, dossier)
        audit.record(
            s,
            at=now,
            action="withdraw" if withdrawn else "cancel",
            actor=actor,
            dossier_id=dossier.id,
            reason=reason.strip(),
            status=status.value,
        )
        return dossier


def definition_of(session: Session, dossier_id: int) -> int | None:
    dossier = session.get(DossierRecord, dossier_id)
    return dossier.definition_id if dossier else None


# -- helpers ----------------------------------------------------------------------------------------


def _refuse_unpublished(definition: ProcessDefinitionRecord) -> ProcessDefinitionRecord:
    if definition.status != "published":
        raise InvalidAction(
            "%(key)s v%(version)s is %(state)s; dossiers start only on a published version",
            key=definition.key,
            version=definition.version,
            state=definition.status,
        )
    return definition


def refuse_if_retired(s: Session, key: str, *, field: str) -> None:
    """No new dossier on a procedure retired from the catalogue; its running dossiers finish."""
    entry = catalogue_records.retired_entry(s, key)
    if entry is not None:
        raise _retired(key, entry.code, entry.name, field=field)


def _retired(key: str, code: str | None, name: str, *, field: str) -> InvalidAction:
    return InvalidAction(
        "procedure %(code)s (%(name)s) is retired from the catalogue: no new dossier starts on it",
        field=field,
        code=code or key,
        name=name,
    )


def get_dossier(s: Session, dossier_id: int) -> DossierRecord:
    dossier = s.get(DossierRecord, dossier_id)
    if dossier is None:
        raise NotFound("unknown dossier %(id)s", id=dossier_id)
    return dossier


def _running(s: Session, dossier_id: int) -> DossierRecord:
    dossier = get_dossier(s, dossier_id)
    if dossier.run_state != RunState.RUNNING.value:
        raise _not_running(dossier)
    return dossier


def open_item(
    s: Session,
    work_item_id: int,
    expected_version: int | None,
    seen_by: Callable[[str], bool] | None = None,
    *,
    runs_workflow: bool = True,
):
    """The open step and its dossier, read for a change; a change that does not run the
    workflow (`runs_workflow=False`) reads only the dossier's columns it checks and answers."""
    item, dossier, head = repositories.work_item_with_dossier_and_head(s, work_item_id, whole_dossier=runs_workflow)
    if item is None or (seen_by is not None and not seen_by(item.unit_code)):
        raise NotFound("unknown work item %(id)s", id=work_item_id)
    if expected_version is not None and item.version != expected_version:
        raise ConflictError("step '%(step)s' changed since you opened it; reload and try again", step=item.name)
    if item.state not in projection.OPEN_STATES:
        if item.completed_by:
            raise ConflictError(
                "step '%(step)s' is already %(state)s by %(user)s",
                step=item.name,
                state=item.state,
                user=item.completed_by,
            )
        raise ConflictError("step '%(step)s' is already %(state)s", step=item.name, state=item.state)
    if dossier.run_state != _RUNNING:
        raise _not_running(dossier)
    audit.seen_head(s, dossier.id, head)
    return item, dossier


def _answered(s: Session, changed, answer: Answer | None):
    """The changed row, or the caller's reply built from it in the same transaction (flushed
    first, so the reply sees the change; the commit then has nothing left to write)."""
    if answer is None:
        return changed
    # The events first, which may then ride with the rows (PostgreSQL); the rows and the flush
    # after them are made there when there were any (a second `write` would find nothing).
    if not audit.write_pending(s):
        change_rows.write(s)
        s.flush()
    return answer(s, changed)


def _not_running(dossier: DossierRecord) -> InvalidAction:
    return InvalidAction(
        "dossier %(code)s is %(state)s; nothing can move it now", code=dossier.code, state=dossier.run_state
    )


def load_run(rt: Runtime, s: Session, dossier: DossierRecord, calendar) -> runner.Run:
    return _run_from(rt, rt.bundle_for_definition(s, dossier.definition_id), dossier, calendar)


def _run_from(rt: Runtime, bundle, dossier: DossierRecord, calendar) -> runner.Run:
    """The dossier's workflow as its row holds it: the one this process saved as that very
    state when it still has it (engine.bpmn.run_cache), else loaded from the state."""
    engine = rt.script_engine(calendar)
    kept = rt.runs.take(dossier.id, dossier.state, bundle)
    if kept is not None:
        return runner.resume(bundle, kept, rt.clock, engine)
    return runner.load(bundle, dossier.state, rt.clock, engine)


def _keep_saved(rt: Runtime, dossier: DossierRecord, run: runner.Run, step: WorkItemRecord | None = None) -> None:
    """After the commit: the workflow as saved, for the dossier's next change in this process,
    and the `step` it created that code follows (_step_to_keep) with the dossier."""
    rt.runs.keep(dossier.id, dossier.state, run.workflow)
    if step is not None:
        rt.kept_steps.keep(step, dossier)


def close_item(
    s: Session, item: WorkItemRecord, actor: Actor, now: datetime, data, calendar, *, dossier_rated: bool
) -> None:
    """The step is done: who, when, with what, how it stood against its due time, how long it took
    in working time; the officers' KPIs, and the rating of a rated dossier (`dossier_rated`, read
    with the dossier: the rating's change moves the dossier's version), count it in the same
    transaction."""
    closed = {
        "state": _COMPLETED_STEP,
        "completed_at": now,
        "completed_by": actor.username,
        "outcome": dict(data or {}),
        "next_sla_at": None,
        "working_minutes": max(0, calendar.between(item.created_at, now)),
    }
    if actor.on_behalf_of:  # else it stays as it was
        closed["on_behalf_of"] = actor.on_behalf_of
    if item.due_at is not None:
        verdict, margin = deadlines.classify(calendar, item.due_at, now)
        closed["classification"], closed["margin_minutes"] = verdict.value, margin
    loaded_rows.set_columns(item, closed)
    officer_rollups.record_step_completed(s, item)
    if dossier_rated:
        satisfaction_rollups.record_step_completed(s, item)  # last: nothing may chain after it (its docstring)


def _dossier_code(rt: Runtime, s: Session, unit: UnitRecord, received: datetime, calendar) -> str:
    local_day = received.astimezone(calendar.tz).date()
    return _code_text(unit, local_day, sequences.next_value(rt.db, s, unit.agency_code, local_day))


def _code_text(unit: UnitRecord, local_day, number: int) -> str:
    return f"{unit.agency_code}-{local_day:%y%m%d}-{number:04d}"


def _cutoff(text: str | None):
    from datetime import time

    return time.fromisoformat(text) if text else None


@retried_on_race
def reappoint_dossier(
    rt: Runtime, dossier_id: int, actor: Actor, new_appointment: datetime, reason: str
) -> DossierRecord:
    """The apology case: move the appointment once, to a time ahead and later than the original,
    with a reason; the original stays.

    Raises:
        InvalidAction: a blank reason (field `reason`), a new appointment not after now or not
            after the original one (field `new_appointment`), or one already moved.
        PermissionDenied: the actor does not lead the dossier's unit.
    """
    if not (reason or "").strip():
        raise InvalidAction("the apology letter needs a reason", field="reason")
    check_reason_length(reason)
    with transaction(rt) as s:
        dossier = _running(s, dossier_id)
        if not actor.is_system and not actor.leads(dossier.unit_code):
            raise PermissionDenied(
                "only a leader of unit %(unit)s may issue the apology letter for dossier %(code)s",
                unit=dossier.unit_code,
                code=dossier.code,
            )
        if dossier.appointment_at is None:
            raise InvalidAction("dossier %(code)s has no appointment to move", code=dossier.code)
        legal_minutes = s.get(ProcessDefinitionRecord, dossier.definition_id).legal_limit_minutes
        clock = deadlines.DossierClock(
            dossier.received_at,
            dossier.clock_start_at,
            legal_minutes,
            dossier.original_appointment_at,
            dossier.appointment_at if dossier.re_appointment_reason else None,
        )
        now = rt.clock.now()
        moved = clock.reappoint(new_appointment, now)
        reason = reason.strip()
        appointment_before = dossier.appointment_at
        dossier.appointment_at, dossier.re_appointment_reason, dossier.updated_at = moved.appointment, reason, now
        open_stock.moved(s, dossier, appointment_before=appointment_before)
        # The letter is issued: the request is answered (the appointment moves only once). The
        # sweep forecasts again against the new appointment, for the at-risk list.
        dossier.apology_check_at = now
        late = repositories.officers_late_in(s, dossier.id, now)
        officer_rollups.record_apology(s, dossier.unit_code, late, now, dossier.id)
        audit.record(
            s,
            at=now,
            action="reappoint",
            actor=actor,
            dossier_id=dossier.id,
            reason=reason,
            original_appointment=dossier.original_appointment_at.isoformat(),
            new_appointment=moved.appointment.isoformat(),
            **{officer_rollups.LATE_OFFICERS: late or None},
        )
        citizen_notices.reappointed(s, dossier, now, rt.calendars.for_unit(s, dossier.unit_code).tz)
        return dossier
