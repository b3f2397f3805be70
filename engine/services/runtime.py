"""What every use case needs, assembled once: database, clock, template cache, calendars."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import field

from engine.bpmn.parser import SpecBundle
from engine.bpmn.parser import SpecCache
from engine.bpmn.run_cache import RunCache
from engine.calendars import calendar_chain
from engine.clock import Clock
from engine.clock import SystemClock
from engine.documents import DocumentStore
from engine.services.kept_steps import KeptSteps
from engine.services.scripting import ScriptEngine
from engine.services.scripting import script_engine_for
from engine.store.database import Database
from engine.store.database import Session
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import TemplateBlobRecord
from engine.store.records import UnitRecord


class CalendarProvider:
    """Working calendars per unit, built once per unit and reused. Another process (the
    administrator's page in another server worker, `motcua calendar add-day`) may change the
    days, so an entry is rebuilt when it is older than `max_age_s`, and at once on invalidate()."""

    def __init__(self, years: range | None = None, max_age_s: float = 60.0):
        self.years = years
        self.max_age_s = max_age_s
        self._cache: dict[str, tuple[object, float]] = {}
        self._lock = threading.Lock()

    def for_unit(self, session: Session, unit_code: str):
        with self._lock:
            cached = self._cache.get(unit_code)
        # Wall-clock age on purpose: this is cache freshness, not the domain's (injected) time.
        if cached is not None and time.monotonic() - cached[1] < self.max_age_s:
            return cached[0]
        from engine.store.calendar_records import load_calendar

        calendar = load_calendar(session, self.chain(session, unit_code), self.years)
        with self._lock:
            self._cache[unit_code] = (calendar, time.monotonic())
        return calendar

    @staticmethod
    def chain(session: Session, unit_code: str) -> list[str]:
        """The unit's calendar chain (engine.calendars.calendar_chain) along the unit table."""

        def parent_of(code: str) -> str | None:
            unit = session.get(UnitRecord, code)
            return unit.parent_code if unit else None

        return calendar_chain(unit_code, parent_of)

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()


@dataclass(frozen=True)
class DefinitionSummary:
    id: int
    key: str
    version: int
    name: str


@dataclass
class Runtime:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    specs: SpecCache = field(default_factory=SpecCache)
    calendars: CalendarProvider = field(default_factory=CalendarProvider)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Where dossiers' files are kept (engine.documents); the web app and the CLI choose it.
    documents: DocumentStore | None = None
    # The workflows this process last saved: a dossier's next change here skips loading its state.
    runs: RunCache = field(default_factory=RunCache)
    # The steps this process's changes created that template code follows (SQLite): see kept_steps.
    kept_steps: KeptSteps = field(default_factory=KeptSteps)
    _definition_refs: dict[int, tuple[str, str]] = field(default_factory=dict, repr=False)
    _files: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _forms: dict[tuple[str, str], dict | None] = field(default_factory=dict, repr=False)
    _summaries: dict[int, DefinitionSummary] = field(default_factory=dict, repr=False)
    _script_engines: dict[int, tuple[object, Clock, ScriptEngine]] = field(default_factory=dict, repr=False)

    #: Templates whose files are kept in memory (forms are read on every completion); a province
    #: runs a few hundred, each a few tens of kilobytes.
    FILES_KEPT = 512

    def template_files(self, session: Session, definition_id: int) -> dict[str, str] | None:
        """Every file of a definition (BPMN and forms) as stored, None for an unknown one. Content
        never changes for a digest, so after the first read they are served from memory."""
        ref = self._definition_refs.get(definition_id)
        if ref is None:
            definition = session.get(ProcessDefinitionRecord, definition_id)
            if definition is None:
                return None
            ref = self._definition_refs[definition_id] = (definition.key, definition.digest)
        files = self._files.get(ref[1])
        if files is None:
            files = dict(session.get(TemplateBlobRecord, ref[1]).files)
            if len(self._files) >= self.FILES_KEPT:
                self._files.pop(next(iter(self._files)))
            self._files[ref[1]] = files
        return files

    def step_form(self, session: Session, definition_id: int, form_key: str | None) -> dict | None:
        """A step's form (forms/<key>.json of its template version) parsed once per version and
        kept with its files; None when the step has none. Callers must not change it."""
        if not form_key:
            return None
        files = self.template_files(session, definition_id)
        if files is None:
            return None
        key = (self._definition_refs[definition_id][1], form_key)
        if key not in self._forms:
            text = files.get(f"forms/{form_key}.json")
            if len(self._forms) >= self.FILES_KEPT * 8:
                self._forms.pop(next(iter(self._forms)))
            self._forms[key] = json.loads(text) if text else None
        return self._forms[key]

    def definition_summary(self, session: Session, definition_id: int) -> DefinitionSummary:
        """What a reply names of a template version (id, key, version, name): fixed once published,
        so read once."""
        found = self._summaries.get(definition_id)
        if found is None:
            record = session.get(ProcessDefinitionRecord, definition_id)
            found = self._summaries[definition_id] = DefinitionSummary(
                record.id, record.key, record.version, record.name
            )
        return found

    def script_engine(self, calendar) -> ScriptEngine:
        """The script engine whose helpers count in `calendar` and read this runtime's clock,
        made once per calendar (building one, its helpers and its sandbox's names, cost more than
        a step's own code): a script engine keeps nothing between evaluations, each of which
        builds its own namespace and budget, so threads and dossiers share it."""
        found = self._script_engines.get(id(calendar))
        if found is not None and found[0] is calendar and found[1] is self.clock:
            return found[2]
        if len(self._script_engines) >= self.FILES_KEPT:  # calendars rebuilt as they age
            self._script_engines.clear()
        engine = script_engine_for(calendar, self.clock)
        self._script_engines[id(calendar)] = (calendar, self.clock, engine)
        return engine

    def document_store(self) -> DocumentStore:
        if self.documents is None:
            raise RuntimeError("this runtime was built without a document store (Runtime.documents)")
        return self.documents

    def bundle_for_definition(self, session: Session, definition_id: int) -> SpecBundle:
        """The parsed template of a definition; a definition's content never changes, so the
        (key, digest) pair is remembered and later calls touch no table."""
        ref = self._definition_refs.get(definition_id)
        if ref is None:
            definition = session.get(ProcessDefinitionRecord, definition_id)
            ref = self._definition_refs[definition_id] = (definition.key, definition.digest)
        bundle = self.specs.cached(ref[1], ref[0])
        return bundle or self.bundle_for(session, session.get(ProcessDefinitionRecord, definition_id))

    def bundle_for(self, session: Session, definition: ProcessDefinitionRecord) -> SpecBundle:
        bundle = self.specs.cached(definition.digest, definition.key)
        if bundle is not None:
            return bundle
        blob = session.get(TemplateBlobRecord, definition.digest)
        files = {
            name: text.encode("utf-8")
            for name, text in blob.files.items()
            if name.endswith((".bpmn", ".bpmn2", ".xml", ".dmn"))
        }
        return self.specs.get(files, definition.key, digest=definition.digest)


# Every dossier change of a province connected to the portal queues its portal event in its own
# transaction, whichever use case or sweep made it: the listener is registered once, here.
from engine.services import portal_sync  # noqa: E402,F401
