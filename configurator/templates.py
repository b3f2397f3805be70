"""What the modeller's template page shows: the catalogue entry (when the template has one) with
every version of the template, and a simulation of one version for a commune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from configurator import catalogue
from configurator import drafts
from configurator import simulation
from engine.domain import deadlines
from engine.domain.errors import NotFound
from engine.services import definitions
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import model_queries
from engine.store import template_drafts
from engine.store import variant_records
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord


@dataclass(frozen=True)
class TemplateOverview:
    key: str
    name: str
    entry: catalogue.CatalogueEntry | None
    versions: list[ProcessDefinitionRecord]  # oldest first

    @property
    def latest(self) -> ProcessDefinitionRecord | None:
        return self.versions[-1] if self.versions else None

    @property
    def published(self) -> list[int]:
        """Numbers of the published versions, oldest first (what communes run and dossiers move between)."""
        return [v.version for v in self.versions if v.status == "published"]

    @property
    def open_draft(self) -> ProcessDefinitionRecord | None:
        """The draft a save replaces (there is at most one, the newest version)."""
        return self.latest if self.latest is not None and self.latest.status == "draft" else None

    def version(self, number: int | None) -> ProcessDefinitionRecord | None:
        """The version with that number; None picks the newest."""
        if number is None:
            return self.latest
        return next((v for v in self.versions if v.version == number), None)


def overview(rt: Runtime, key: str) -> TemplateOverview:
    """A procedure of the catalogue, or a template deployed without a catalogue entry."""
    with rt.db.read_session() as s:
        versions = catalogue_records.definitions_of(s, key)
    try:
        entry = catalogue.get(rt, key)
    except NotFound:
        if not versions:
            raise NotFound("no procedure or process template has the code '%(key)s'", field="key", key=key) from None
        entry = None
    name = entry.name if entry else versions[-1].name
    return TemplateOverview(key, name, entry, versions)


@dataclass(frozen=True)
class UnitSimulation:
    """A simulation for one commune, and which of its settings it used."""

    result: simulation.Simulation
    local: bool  # the commune's local settings were applied
    rolled_out_version: int | None  # the version the commune runs; None when not rolled out
    differences: int  # how many local settings the commune has (budgets, role holders, skipped steps)


def simulate_version(
    rt: Runtime, key: str, version: int, unit_code: str, received_at: datetime, *, local: bool = True
) -> UnitSimulation:
    """The appointment and each step's due time for a dossier received at `received_at` in the
    unit; with `local`, as the unit runs it: its own step budgets, role holders and skipped steps
    (its variant of the template, whichever version it was rolled out with)."""
    files = drafts.version_files(rt, key, version)
    with rt.db.read_session() as s:
        definition = catalogue_records.definition_by_version(s, key, version)
        if s.get(UnitRecord, unit_code) is None:
            raise NotFound("unknown unit '%(unit)s'", field="unit", unit=unit_code)
        variant = variant_records.variant_for(s, key, unit_code)
        runs = s.get(ProcessDefinitionRecord, variant.definition_id).version if variant else None
        overrides = dict(variant.overrides or {}) if variant else {}
    legal_limit = (
        deadlines.format_legal_limit(definition.legal_limit_minutes)
        if definition.legal_limit_minutes is not None
        else None
    )
    bpmn = {name: content.encode("utf-8") for name, content in definitions.model_files(files).items()}
    settings = simulation.LocalSettings.of(overrides)
    result = simulation.simulate(
        rt,
        bpmn,
        unit_code,
        received_at,
        process_id=key,
        legal_limit=legal_limit,
        cutoff=definition.clock_cutoff,
        local=settings if local else None,
    )
    differences = len(settings.budgets) + len(settings.holders) + len(settings.skip)
    return UnitSimulation(result, local, runs, differences)


def communes_for(rt: Runtime, unit_code: str | None) -> list[UnitRecord]:
    """The communes of the user's province (a simulation or rollout picks among them)."""
    with rt.db.read_session() as s:
        province = template_drafts.province_of(s, unit_code)
        return template_drafts.communes_of(s, province.code) if province else []


@dataclass(frozen=True)
class ProcedureList:
    entries: list[catalogue.CatalogueEntry]
    total: int
    newest: dict[str, ProcessDefinitionRecord]  # key -> newest template version
    fields: list[tuple[str, str]]


def procedure_list(
    rt: Runtime, text: str | None, field: str | None, level: str | None, *, limit: int, offset: int
) -> ProcedureList:
    """Catalogue search (accents and case ignored) with each procedure's newest template version."""
    found = catalogue.search(rt, text, field=field, level=level, limit=limit, offset=offset)
    with rt.db.read_session() as s:
        newest = model_queries.newest_versions(s, [e.key for e in found.entries])
        fields = model_queries.field_choices(s)
    return ProcedureList(found.entries, found.total, newest, fields)
