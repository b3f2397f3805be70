"""Moving a running dossier to another published version of its template, when it is safe.

A published version is immutable and a dossier stays on the version it started with. A modeller
may migrate one explicitly; the check refuses when a step the dossier has already done, or is
doing now, was changed or removed in the target (SpiffWorkflow's workflow diff, by element id),
because the dossier's history would no longer match its template.
"""

from __future__ import annotations

from engine.bpmn import runner
from engine.bpmn.versioning import MigrationCheck
from engine.bpmn.versioning import check_workflow
from engine.bpmn.versioning import migrate
from engine.domain.assignment import Actor
from engine.domain.errors import NotFound
from engine.domain.errors import Problems
from engine.domain.errors import Reason
from engine.domain.model import RunState
from engine.services import audit
from engine.services import projection
from engine.services import unit_of_work
from engine.services.runtime import Runtime
from engine.services.scripting import script_engine_for
from engine.store import open_stock
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord

MIGRATABLE = (RunState.RUNNING.value, RunState.SUSPENDED.value)


class MigrationRefused(Problems):
    """The migration is not safe; `problems` lists each reason, naming the element ids."""


def migration_check(rt: Runtime, dossier_id: int, to_definition_id: int) -> MigrationCheck:
    """Whether the dossier may move to that version now, and if not, why (naming element ids)."""
    with rt.db.read_session() as s:
        dossier, source, target = _records(s, dossier_id, to_definition_id)
        reasons = _refusals_by_record(dossier, source, target)
        if reasons:
            return MigrationCheck(False, reasons)
        old, new = rt.bundle_for(s, source), rt.bundle_for(s, target)
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
    run = runner.load(old, dossier.state, rt.clock, script_engine_for(calendar, rt.clock))
    return check_workflow(run, old, new)


def migrate_dossier(rt: Runtime, dossier_id: int, to_definition_id: int, actor: Actor | str) -> DossierRecord:
    """Move a dossier to another published version of its template, in one transaction.

    Raises MigrationRefused (nothing written) when `migration_check` would refuse. The open steps
    keep their work items and deadlines; steps the target adds ahead of the dossier are taken.
    """
    with unit_of_work.transaction(rt) as s:
        dossier, source, target = _records(s, dossier_id, to_definition_id)
        reasons = _refusals_by_record(dossier, source, target)
        if reasons:
            raise MigrationRefused(reasons)
        old, new = rt.bundle_for(s, source), rt.bundle_for(s, target)
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = runner.load(old, dossier.state, rt.clock, script_engine_for(calendar, rt.clock))
        check = check_workflow(run, old, new)
        if not check.ok:
            raise MigrationRefused(check.reasons)
        ready_before = run.ready_task_ids()
        migrated = migrate(run, new, rt.clock)
        now = rt.clock.now()
        dossier.definition_id = target.id
        open_stock.moved(s, dossier, definition_before=source.id)
        audit.record(
            s,
            at=now,
            action="migrate",
            actor=actor,
            dossier_id=dossier.id,
            from_definition=f"{source.key} v{source.version}",
            to_definition=f"{target.key} v{target.version}",
            from_definition_id=source.id,
            to_definition_id=target.id,
            notes=[str(note) for note in check.notes] or None,
        )
        projection.sync(
            s, dossier, migrated, calendar, actor if isinstance(actor, Actor) else _system(actor), now, ready_before
        )
        return dossier


def _system(username: str) -> Actor:
    return Actor(username, frozenset(), None)


def _records(s, dossier_id: int, to_definition_id: int):
    dossier = s.get(DossierRecord, dossier_id)
    if dossier is None:
        raise NotFound("unknown dossier %(id)s", id=dossier_id)
    target = s.get(ProcessDefinitionRecord, to_definition_id)
    if target is None:
        raise NotFound("unknown process definition %(id)s", field="to_definition_id", id=to_definition_id)
    return dossier, s.get(ProcessDefinitionRecord, dossier.definition_id), target


def _refusals_by_record(
    dossier: DossierRecord, source: ProcessDefinitionRecord, target: ProcessDefinitionRecord
) -> list[Reason]:
    reasons = []
    if target.key != source.key:
        reasons.append(
            Reason.of(
                "%(key)s v%(version)s is another template; dossier %(code)s runs %(runs)s",
                key=target.key,
                version=target.version,
                code=dossier.code,
                runs=source.key,
            )
        )
    if target.status != "published":
        reasons.append(
            Reason.of(
                "%(key)s v%(version)s is %(state)s, not published",
                key=target.key,
                version=target.version,
                state=target.status,
            )
        )
    if target.id == source.id:
        reasons.append(
            Reason.of(
                "dossier %(code)s already runs %(key)s v%(version)s",
                code=dossier.code,
                key=source.key,
                version=source.version,
            )
        )
    if dossier.run_state not in MIGRATABLE:
        reasons.append(
            Reason.of(
                "dossier %(code)s is %(state)s; only a running dossier moves",
                code=dossier.code,
                state=dossier.run_state,
            )
        )
    return reasons
