"""Rolling a published version out to a province's communes a chunk at a time, so the page can
show how far it got: each call moves the next communes still missing (or on another version)
and reports the count from the database, so an interrupted rollout simply continues."""

from __future__ import annotations

from dataclasses import dataclass

from configurator import variants
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import template_drafts

CHUNK = 25  # communes per step: 126 Hanoi communes show progress in six steps


@dataclass(frozen=True)
class RolloutProgress:
    key: str
    version: int
    definition_id: int
    province_code: str
    province_name: str
    done: int
    total: int

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.done * 100 // self.total


def progress(rt: Runtime, key: str, version: int, unit_code: str | None) -> RolloutProgress:
    """How many communes of the user's province run this version of the template."""
    with rt.db.read_session() as s:
        definition, province = _published(s, key, version), _province(s, unit_code)
        done, total = template_drafts.rollout_counts(s, province.code, definition.id, key)
        return RolloutProgress(key, version, definition.id, province.code, province.name, done, total)


def rollout_next(rt: Runtime, key: str, version: int, unit_code: str | None, chunk: int = CHUNK) -> RolloutProgress:
    """Move the next `chunk` communes of the user's province to this version; returns the progress."""
    with rt.db.read_session() as s:
        definition, province = _published(s, key, version), _province(s, unit_code)
        codes = template_drafts.communes_not_on(s, province.code, definition.id, key, chunk)
    if codes:
        variants.rollout(rt, definition.id, unit_codes=codes, province=province.code)
    return progress(rt, key, version, unit_code)


def _published(s, key: str, version: int):
    definition = catalogue_records.definition_by_version(s, key, version)
    if definition is None:
        raise NotFound("%(key)s has no version %(version)s", field="version", key=key, version=version)
    if definition.status != "published":
        raise InvalidAction(
            "only a published version can be rolled out; %(key)s v%(version)s is %(state)s",
            key=key,
            version=version,
            state=definition.status,
        )
    return definition


def _province(s, unit_code: str | None):
    province = template_drafts.province_of(s, unit_code)
    if province is None:
        raise InvalidAction("your account belongs to no province, so there are no communes to roll out to")
    return province
