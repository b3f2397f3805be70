"""Parses BPMN templates into SpiffWorkflow specs, cached by content hash.

Many commune variants share one template: they name the same content digest, so the
template is parsed once per process however many variants and dossiers use it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser

from engine.bpmn.dmn import is_dmn
from engine.bpmn.extensions import ProcessPolicy
from engine.bpmn.extensions import StepPolicy
from engine.bpmn.extensions import read_policies
from engine.bpmn.service_tasks import WaitingServiceTask
from engine.bpmn.xml import element_line
from engine.bpmn.xml import parse_xml
from engine.domain.errors import TemplateError


@dataclass(frozen=True)
class SpecBundle:
    """A parsed template: SpiffWorkflow specs plus our domain policies, immutable."""

    digest: str
    process_id: str
    spec: object
    subprocess_specs: dict
    policies: dict[str, ProcessPolicy]
    decisions: dict = field(default_factory=dict)  # decision id -> SpiffWorkflow DMNEngine

    @property
    def policy(self) -> ProcessPolicy:
        return self.policies[self.process_id]

    @cached_property
    def waits_on_services(self) -> bool:
        """Whether a task of the template waits for a worker (a service task): on the others no
        change needs to walk every task for waiting calls (31 Python calls a change)."""
        processes = (self.spec, *self.subprocess_specs.values())
        return any(isinstance(spec, WaitingServiceTask) for p in processes for spec in p.task_specs.values())

    @cached_property
    def pauses_clock_anywhere(self) -> bool:
        """Whether a step of the template stops the legal clock while open (a public posting):
        only then does a change look for the dossier's open pause."""
        return any(step.pauses_clock for policy in self.policies.values() for step in policy.steps.values())

    def step(self, element_id: str) -> StepPolicy | None:
        for policy in self.policies.values():
            if element_id in policy.steps:
                return policy.steps[element_id]
        return None

    def node_status(self, element_id: str) -> int | None:
        return self.node_statuses.get(element_id)

    @cached_property
    def node_statuses(self) -> dict[str, int]:
        """Element id -> the portal status reaching it gives, over the bundle's processes (the
        first process that names an element wins): read for every task of a change's walk."""
        statuses: dict[str, int] = {}
        for policy in self.policies.values():
            for element_id, status in policy.node_statuses.items():
                statuses.setdefault(element_id, status)
        return statuses


def digest_files(files: Mapping[str, bytes]) -> str:
    """Content hash of a set of BPMN files; names matter only for ordering."""
    h = hashlib.sha256()
    for name in sorted(files):
        content = files[name]
        h.update(hashlib.sha256(content if isinstance(content, bytes) else content.encode()).digest())
    return h.hexdigest()


class TemplateParser(SpiffBpmnParser):
    """The spiff flavour, whose service tasks wait for a worker instead of calling out inline."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, WaitingServiceTask),
    }


def parse_bundle(files: Mapping[str, bytes], process_id: str | None = None) -> SpecBundle:
    """Parse and validate (XSD on) the files of a template; raise TemplateError naming the element.

    Args:
        files: file name -> BPMN or DMN bytes: the main process, the processes it calls and
            the decision tables its business rule tasks call (recognised by their namespace).
        process_id: the process to run; None picks the only executable process.
    """
    parser = TemplateParser(validator=VALIDATOR)
    trees: dict[str, etree._ElementTree] = {}
    policies: dict[str, ProcessPolicy] = {}
    for name, content in files.items():
        tree = parse_xml(content, file_name=name)
        trees[name] = tree
        if is_dmn(tree):
            _add_dmn_to_parser(parser, tree, name, trees)
            continue
        _add_to_parser(parser, tree, name, trees)
        policies.update(read_policies(tree))
    chosen = process_id or _only_executable(parser, files)
    try:
        spec = parser.get_spec(chosen)
        subprocess_specs = parser.get_subprocess_specs(chosen)
    except ValidationException as exc:
        raise _template_error(exc, trees) from None
    try:
        decisions = {decision_id: parser.get_engine(decision_id, None) for decision_id in parser.dmn_parsers}
    except ValidationException as exc:
        raise _template_error(exc, trees) from None
    return SpecBundle(digest_files(files), chosen, spec, subprocess_specs, policies, decisions)


def _add_to_parser(parser, tree, name, trees) -> None:
    try:
        parser.add_bpmn_xml(tree, filename=name)
    except ValidationException as exc:
        raise _template_error(exc, trees) from None
    except etree.DocumentInvalid as exc:  # pragma: no cover - VALIDATOR raises ValidationException
        raise TemplateError(str(exc), file_name=name) from None


def _add_dmn_to_parser(parser, tree, name, trees) -> None:
    try:
        parser.add_dmn_xml(tree.getroot(), filename=name)
    except ValidationException as exc:
        raise _template_error(exc, trees) from None


def _only_executable(parser: SpiffBpmnParser, files: Mapping[str, bytes]) -> str:
    ids = parser.get_process_ids()
    if len(ids) == 1:
        return ids[0]
    names = ", ".join(sorted(files))
    if not ids:
        raise TemplateError(f'no executable process (isExecutable="true") in {names}')
    raise TemplateError(f"several executable processes ({', '.join(sorted(ids))}); name the one to run")


def _template_error(exc: ValidationException, trees: Mapping[str, etree._ElementTree]) -> TemplateError:
    element_id = getattr(exc, "id", "") or None
    line = getattr(exc, "line_number", "") or None
    file_name = getattr(exc, "file_name", "") or None
    if line is None and element_id:
        tree = trees.get(file_name) if file_name else None
        for candidate in [tree] if tree is not None else trees.values():
            line = element_line(candidate, element_id)
            if line:
                break
    message = str(exc).split("\n")[0]
    return TemplateError(message, element_id=element_id, line=line, file_name=file_name)


class SpecCache:
    """A bounded, thread-safe cache of parsed templates keyed by content digest and process."""

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self.parses = 0
        self._items: OrderedDict[tuple[str, str | None], SpecBundle] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, digest: str, process_id: str | None = None) -> SpecBundle | None:
        with self._lock:
            bundle = self._items.get((digest, process_id))
            if bundle is not None:
                self._items.move_to_end((digest, process_id))
            return bundle

    def get(self, files: Mapping[str, bytes], process_id: str | None = None, digest: str | None = None) -> SpecBundle:
        key = (digest or digest_files(files), process_id)
        bundle = self.cached(*key)
        if bundle is not None:
            return bundle
        bundle = parse_bundle(files, process_id)
        with self._lock:
            self.parses += 1
            self._items[key] = bundle
            self._items[(key[0], bundle.process_id)] = bundle  # found again by its process id
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return bundle

    def __len__(self) -> int:
        return len(self._items)
