"""Deploys template versions: validates by parsing, stores the files once per content digest.

A template version is its BPMN files plus the files that travel with them (step forms as
`forms/<step>.json`): the digest covers all of them, so a changed form is a new version.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.bpmn.dmn import DMN_SUFFIXES
from engine.bpmn.expressions import refuse_unsafe_expressions
from engine.bpmn.parser import digest_files
from engine.domain import deadlines
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services.runtime import Runtime
from engine.store import repositories
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import TemplateBlobRecord

BPMN_SUFFIXES = (".bpmn", ".bpmn2", ".bpmn20.xml", ".xml")
MODEL_SUFFIXES = BPMN_SUFFIXES + DMN_SUFFIXES


def deploy(
    rt: Runtime,
    files: Mapping[str, bytes],
    *,
    process_id: str | None = None,
    name: str | None = None,
    procedure_code: str | None = None,
    legal_limit: str | None = None,
    clock_cutoff: str | None = None,
    clock_last_hour: bool = False,
) -> ProcessDefinitionRecord:
    """Publish a new version of a template; unchanged content returns the current version.

    Drafts are the configurator's (configurator/drafts.py): it keeps a draft even while it does
    not parse, and publishes it once it validates."""
    digest = digest_files(files)
    bpmn = model_files(files)
    bundle = rt.specs.get(bpmn, process_id, digest=digest)  # raises TemplateError naming the element
    refuse_unsafe_expressions(bpmn)
    policy = bundle.policy
    legal_text = legal_limit or policy.legal_limit
    with rt.db.session() as s:
        latest = repositories.latest_definition(s, bundle.process_id)
        if latest is not None and latest.digest == digest and latest.status == "published":
            return latest
        if s.get(TemplateBlobRecord, digest) is None:
            s.add(
                TemplateBlobRecord(
                    digest=digest,
                    created_at=rt.clock.now(),
                    files={n: (c.decode("utf-8") if isinstance(c, bytes) else c) for n, c in files.items()},
                )
            )
            s.flush()  # the definition row references it
        version = repositories.next_definition_version(s, bundle.process_id)
        definition = ProcessDefinitionRecord(
            key=bundle.process_id,
            version=version,
            name=name or bundle.spec.description or bundle.process_id,
            digest=digest,
            status="published",
            procedure_code=procedure_code or policy.procedure_code,
            legal_limit_minutes=deadlines.parse_legal_limit(legal_text) if legal_text else None,
            clock_cutoff=clock_cutoff,
            clock_last_hour=clock_last_hour,
            published_at=rt.clock.now(),
        )
        s.add(definition)
        s.flush()
        return definition


def bpmn_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    return {name: content for name, content in files.items() if name.endswith(BPMN_SUFFIXES)}


def model_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files SpiffWorkflow reads: the BPMN processes and the DMN decision tables (not the forms)."""
    return {name: content for name, content in files.items() if name.endswith(MODEL_SUFFIXES)}


def template_files(rt: Runtime, definition_id: int) -> dict[str, str]:
    """Every file of a template version (BPMN and forms), as stored (kept in memory once read)."""
    with rt.db.read_session() as s:
        files = rt.template_files(s, definition_id)
    if files is None:
        raise NotFound("unknown process definition %(id)s", id=definition_id)
    return dict(files)


def retire(rt: Runtime, definition_id: int) -> ProcessDefinitionRecord:
    with rt.db.session() as s:
        definition = s.get(ProcessDefinitionRecord, definition_id)
        if definition is None or definition.status != "published":
            raise InvalidAction("only a published version can be retired")
        definition.status = "retired"
        return definition


def latest_published(rt: Runtime, key: str) -> ProcessDefinitionRecord | None:
    with rt.db.session() as s:
        return repositories.latest_definition(s, key, status="published")
