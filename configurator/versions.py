"""Template versions for the modeller: list, retire, and what changed between two versions.

Comparing specs and migrating running dossiers are engine work (engine.bpmn.versioning and
engine.services.migration); the migration entry points are re-exported here so the modeller's
tools find everything about versions in one place.
"""

from __future__ import annotations

from engine.bpmn.versioning import ElementChange  # noqa: F401  (part of this module's answers)
from engine.bpmn.versioning import PolicyChange  # noqa: F401
from engine.bpmn.versioning import VersionDiff
from engine.bpmn.versioning import diff_bundles
from engine.domain.errors import NotFound
from engine.services import definitions
from engine.services.migration import MigrationRefused  # noqa: F401  (re-exported for callers)
from engine.services.migration import migrate_dossier  # noqa: F401
from engine.services.migration import migration_check  # noqa: F401
from engine.services.runtime import Runtime
from engine.store import catalogue_records
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
    return diff_bundles(old, new, key=key, from_version=from_version, to_version=to_version)

