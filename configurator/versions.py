"""Template versions for the modeller: list, retire, what changed between two versions, and moving
running dossiers from one version to another when it is safe.

Comparing specs and migrating running dossiers are engine work (engine.bpmn.versioning and
engine.services.migration); the migration entry points are re-exported here so the modeller's
tools find everything about versions in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace

from engine.bpmn import dmn
from engine.bpmn.versioning import ElementChange  # noqa: F401  (part of this module's answers)
from engine.bpmn.versioning import MigrationCheck
from engine.bpmn.versioning import PolicyChange  # noqa: F401
from engine.bpmn.versioning import VersionDiff
from engine.bpmn.versioning import diff_bundles
from engine.bpmn.xml import parse_xml
from engine.domain.errors import ConflictError
from engine.domain.errors import NotFound
from engine.services import definitions
from engine.services.migration import MigrationRefused  # noqa: F401  (re-exported for callers)
from engine.services.migration import migrate_dossier  # noqa: F401
from engine.services.migration import migration_check  # noqa: F401
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import queries
from engine.store.records import ProcessDefinitionRecord

# -- listing and retiring -----------------------------------------------------------------------


def list_versions(rt: Runtime, key: str) -> list[ProcessDefinitionRecord]:
    with rt.db.read_session() as s:
        return catalogue_records.definitions_of(s, key)


def version_of(rt: Runtime, key: str, version: int) -> ProcessDefinitionRecord:
    with rt.db.read_session() as s:
        definition = catalogue_records.definition_by_version(s, key, version)
    if definition is None:
        raise NotFound("%(key)s has no version %(version)s", key=key, version=version)
    return definition


def retire_version(rt: Runtime, key: str, version: int) -> ProcessDefinitionRecord:
    """No new dossier starts on a retired version; running ones carry on (or are migrated)."""
    return definitions.retire(rt, version_of(rt, key, version).id)


# -- diff ---------------------------------------------------------------------------------------


def diff_versions(rt: Runtime, key: str, from_version: int, to_version: int) -> VersionDiff:
    """Elements added, removed and changed, and step budgets/roles changed, by element id."""
    old_def, new_def = version_of(rt, key, from_version), version_of(rt, key, to_version)
    with rt.db.read_session() as s:
        old, new = rt.bundle_for(s, old_def), rt.bundle_for(s, new_def)
    diff = diff_bundles(old, new, key=key, from_version=from_version, to_version=to_version)
    return replace(diff, decisions=_decision_changes(rt, old_def.id, new_def.id))


def _decision_trees(rt: Runtime, definition_id: int) -> list:
    files = definitions.template_files(rt, definition_id)
    return [parse_xml(text, file_name=name) for name, text in sorted(files.items()) if name.endswith(dmn.DMN_SUFFIXES)]


def _decision_changes(rt: Runtime, old_id: int, new_id: int) -> list[ElementChange]:
    """Decision tables and rules added, removed or changed (the type says which and how)."""
    return [
        ElementChange(element_id, None, f"{kind} {what}", (detail,))
        for element_id, kind, what, detail in dmn.diff_decisions(
            _decision_trees(rt, old_id), _decision_trees(rt, new_id)
        )
    ]


# -- moving running dossiers to another version ---------------------------------------------------

#: Dossiers checked (and moved) per request: each check loads its workflow state.
MIGRATION_BATCH = 200


@dataclass(frozen=True)
class MigrationCandidate:
    dossier_id: int
    code: str
    unit_code: str
    status: int
    check: MigrationCheck


@dataclass(frozen=True)
class MigrationPlan:
    key: str
    from_version: int
    to_version: int
    candidates: list[MigrationCandidate]
    total: int  # running dossiers on from_version in these units; candidates holds one batch

    @property
    def movable(self) -> list[MigrationCandidate]:
        return [c for c in self.candidates if c.check.ok]


def migration_plan(
    rt: Runtime, key: str, from_version: int, to_version: int, unit_codes: list[str], after_id: int = 0
) -> MigrationPlan:
    """The running dossiers of these units on `from_version`, each with whether it may move to
    `to_version` now and why not: MIGRATION_BATCH of them, oldest first, after dossier `after_id`
    (the next batch starts after the last candidate's id)."""
    source, target = version_of(rt, key, from_version), version_of(rt, key, to_version)
    with rt.db.read_session() as s:
        rows, total = queries.dossiers_on_version(s, source.id, unit_codes, MIGRATION_BATCH, after_id)
    candidates = [
        MigrationCandidate(d.id, d.code, d.unit_code, d.status, migration_check(rt, d.id, target.id)) for d in rows
    ]
    return MigrationPlan(key, from_version, to_version, candidates, total)


def province_communes(rt: Runtime, province_code: str) -> list[str]:
    with rt.db.read_session() as s:
        return queries.commune_codes(s, province_code)


def migrate_movable(rt: Runtime, plan: MigrationPlan, actor) -> tuple[int, int]:
    """Move every dossier the plan found movable, each in its own transaction; one that changed
    meanwhile and can no longer move is counted, not forced. Returns (moved, refused)."""
    target = version_of(rt, plan.key, plan.to_version)
    moved = refused = 0
    for candidate in plan.movable:
        try:
            migrate_dossier(rt, candidate.dossier_id, target.id, actor)
        except (MigrationRefused, ConflictError):
            refused += 1
        else:
            moved += 1
    return moved, refused
