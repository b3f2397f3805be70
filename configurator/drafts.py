"""The modeller's working copy of a template: save the edited BPMN as a draft version (validated,
stored even when it still has errors so no work is lost), and publish a draft once it validates.

A draft keeps the other files of the version it was edited from (the step forms), so only the
diagram changes. Saving again replaces the content of the open draft instead of adding a version
per save; publishing freezes it. Nothing here accepts a document that is not well-formed XML or
that no longer holds the template's process: those are refused with the reason and nothing is
written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from configurator.validation import ValidationReport
from configurator.validation import validate_template
from engine.bpmn.extensions import BPMN_NS
from engine.bpmn.extensions import read_policies
from engine.bpmn.parser import digest_files
from engine.bpmn.xml import parse_xml
from engine.domain import deadlines
from engine.domain.errors import EngineError
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services import definitions
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import repositories
from engine.store import template_drafts
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import TemplateBlobRecord

MINUTES_PER_DAY = 8 * 60  # the catalogue counts in working days of 8 hours


class DraftRefused(EngineError):
    """The submitted document cannot be kept as a draft (not XML, or not this template)."""


class PublishRefused(EngineError):
    """The draft does not validate; `report` holds every finding with its element id."""

    def __init__(self, report: ValidationReport):
        super().__init__("; ".join(f"{f.element_id or ''}: {f.message}".lstrip(": ") for f in report.errors))
        self.report = report


@dataclass(frozen=True)
class SavedDraft:
    key: str
    version: int
    definition_id: int
    report: ValidationReport


def version_files(rt: Runtime, key: str, version: int) -> dict[str, str]:
    """Every file of one version of the template (BPMN and forms), as stored."""
    with rt.db.read_session() as s:
        definition = _definition(s, key, version)
        return dict(s.get(TemplateBlobRecord, definition.digest).files)


def main_file(files: Mapping[str, str | bytes], key: str) -> str | None:
    """The name of the BPMN file that holds the template's process (the one the editor opens)."""
    bpmn = definitions.bpmn_files(files)
    for name, content in sorted(bpmn.items()):
        if _has_process(content, key):
            return name
    return min(bpmn) if bpmn else None


def version_bpmn(rt: Runtime, key: str, version: int) -> str:
    """The BPMN text of the template's process file in that version."""
    files = version_files(rt, key, version)
    name = main_file(files, key)
    if name is None:
        raise NotFound("%(key)s v%(version)s has no BPMN file", key=key, version=version)
    return files[name]


def save_draft(rt: Runtime, key: str, bpmn: bytes, *, base_version: int | None = None) -> SavedDraft:
    """Store `bpmn` as the template's draft and return it with its validation report.

    Args:
        key: the template (its BPMN process id); the document must still define that process.
        bpmn: the edited BPMN document.
        base_version: the version the modeller edited (its forms travel along); default the newest.

    Raises:
        DraftRefused: the document is not well-formed XML or lacks the process; nothing written.
    """
    _refuse_foreign(bpmn, key)
    refuse_unknown(rt, key)
    base_files = files_of_base(rt, key, base_version)
    file_name = main_file(base_files, key) or f"{key}.bpmn"
    files = {**base_files, file_name: bpmn.decode("utf-8")}
    limit = legal_limit_minutes(rt, key, bpmn)
    report = validate_template(
        {n: c.encode("utf-8") for n, c in definitions.model_files(files).items()},
        key,
        limit,
        clock_cutoff=clock_cutoff(rt, key),
    )
    with rt.db.session() as s:
        draft = write_draft(rt, s, key, files, bpmn, limit)
        return SavedDraft(key, draft.version, draft.id, report)


def validate_version(rt: Runtime, key: str, version: int) -> ValidationReport:
    """The validation report of a stored version, against the catalogue's legal limit."""
    files = version_files(rt, key, version)
    with rt.db.read_session() as s:
        definition = _definition(s, key, version)
        limit, cutoff = definition.legal_limit_minutes, definition.clock_cutoff
    return validate_template(
        {n: c.encode("utf-8") for n, c in definitions.model_files(files).items()}, key, limit, clock_cutoff=cutoff
    )


def publish(rt: Runtime, key: str, version: int) -> ProcessDefinitionRecord:
    """Make a draft the template's newest published version.

    Raises:
        InvalidAction: the version is not a draft.
        PublishRefused: the draft has validation errors (listed in the exception's report).
    """
    with rt.db.read_session() as s:
        if _definition(s, key, version).status != "draft":
            raise InvalidAction(
                "%(key)s v%(version)s is not a draft, so it cannot be published", key=key, version=version
            )
        newest = repositories.latest_definition(s, key)
        if newest.version != version:
            raise InvalidAction(
                "version %(newest)s is newer than draft %(version)s; edit the newest version",
                newest=newest.version,
                version=version,
            )
    report = validate_version(rt, key, version)
    if not report.ok:
        raise PublishRefused(report)
    with rt.db.session() as s:
        draft = _definition(s, key, version)
        rt.bundle_for(s, draft)  # the engine parses it once more, as a dossier start would
        draft.status, draft.published_at = "published", rt.clock.now()
        return draft


def write_draft(rt: Runtime, s, key: str, files: dict[str, str], bpmn: bytes, limit: int | None):
    digest = digest_files(files)
    now = rt.clock.now()
    template_drafts.store_blob(s, digest, files, now)
    draft = template_drafts.open_draft(s, key)
    if draft is not None:
        previous, draft.digest, draft.legal_limit_minutes = draft.digest, digest, limit
        s.flush()
        if previous != digest:
            template_drafts.drop_blob_if_unused(s, previous)
        return draft
    base = repositories.latest_definition(s, key)
    entry = catalogue_records.procedure_by_key(s, key)
    return template_drafts.add_draft(
        s,
        key=key,
        name=(entry.name if entry else None) or (base.name if base else None) or _process_name(bpmn, key),
        digest=digest,
        procedure_code=(entry.code if entry else None) or (base.procedure_code if base else None),
        legal_limit_minutes=limit,
        clock_cutoff=(entry.clock_cutoff if entry else None) or (base.clock_cutoff if base else None),
        clock_last_hour=base.clock_last_hour if base else False,
    )


def files_of_base(rt: Runtime, key: str, base_version: int | None) -> dict[str, str]:
    with rt.db.read_session() as s:
        if base_version is not None:
            base = _definition(s, key, base_version)
        else:
            base = repositories.latest_definition(s, key)
        return dict(s.get(TemplateBlobRecord, base.digest).files) if base is not None else {}


def clock_cutoff(rt: Runtime, key: str) -> str | None:
    """The cut-off a new draft will get (as write_draft picks it): the catalogue's, else the newest version's."""
    with rt.db.read_session() as s:
        entry = catalogue_records.procedure_by_key(s, key)
        latest = repositories.latest_definition(s, key)
        return (entry.clock_cutoff if entry else None) or (latest.clock_cutoff if latest else None)


def legal_limit_minutes(rt: Runtime, key: str, bpmn: bytes) -> int | None:
    """The catalogue's limit wins; else the newest version's; else the diagram's own legalLimit."""
    with rt.db.read_session() as s:
        entry = catalogue_records.procedure_by_key(s, key)
        if entry is not None and entry.legal_limit_days is not None:
            return round(entry.legal_limit_days * MINUTES_PER_DAY)
        latest = repositories.latest_definition(s, key)
        if latest is not None and latest.legal_limit_minutes is not None:
            return latest.legal_limit_minutes
    policy = read_policies(parse_xml(bpmn)).get(key)
    if policy is None or not policy.legal_limit:
        return None
    try:
        return deadlines.parse_legal_limit(policy.legal_limit)
    except ValueError:
        return None  # validation reports the bad duration on the process


def refuse_unknown(rt: Runtime, key: str) -> None:
    """Drafts belong to a procedure of the catalogue or to a template already deployed; a retired
    procedure gets no new draft (its published versions still run)."""
    with rt.db.read_session() as s:
        entry = catalogue_records.procedure_by_key(s, key)
        if entry is None and repositories.latest_definition(s, key) is None:
            raise NotFound("no procedure or process template has the code '%(key)s'", field="key", key=key)
        if entry is not None and entry.retired_at is not None:
            raise InvalidAction(
                "the procedure '%(key)s' is retired from the catalogue; restore it before modelling a new version",
                field="key",
                key=key,
            )


def _refuse_foreign(bpmn: bytes, key: str) -> None:
    try:
        bpmn.decode("utf-8")
        tree = parse_xml(bpmn)
    except (EngineError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise DraftRefused("the BPMN cannot be read: %(error)s", field="bpmn", error=str(exc)) from None
    if key not in _processes(tree):
        raise DraftRefused(
            "the diagram no longer has a process with the id '%(key)s'; keep the process id", field="bpmn", key=key
        )


def _has_process(content: str | bytes, key: str) -> bool:
    try:
        return key in _processes(parse_xml(content))
    except (EngineError, ValueError):
        return False


def _processes(tree) -> dict:
    return {p.get("id"): p for p in tree.getroot().iter(f"{{{BPMN_NS}}}process")}


def _process_name(bpmn: bytes, key: str) -> str:
    return _processes(parse_xml(bpmn))[key].get("name") or key


def _definition(s, key: str, version: int) -> ProcessDefinitionRecord:
    definition = catalogue_records.definition_by_version(s, key, version)
    if definition is None:
        raise NotFound("%(key)s has no version %(version)s", field="version", key=key, version=version)
    return definition
