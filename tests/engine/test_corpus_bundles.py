"""The public corpus as template bundles: each BPMN file with its companion files.

A file's companions are the BPMN files of its folder that define the processes it calls, and the
DMN files of its folder (or a subfolder) that define the decisions its business rule tasks call,
following what those companions call in turn. Plain SpiffWorkflow 3.2 given the same files is the
oracle: every process it builds must import into the engine as a bundle (parse_bundle), validate
without an import finding, and publish (definitions.deploy) with every file stored together.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from configurator.validation import validate_template
from engine.bpmn import dmn
from engine.bpmn.parser import parse_bundle
from engine.services import definitions
from tests.corpus import CORPUS

if not CORPUS.is_dir():  # pragma: no cover - the corpus lives outside the repository
    pytest.skip(f"BPMN corpus not found at {CORPUS}", allow_module_level=True)

BPMN_SUFFIXES = (".bpmn", ".bpmn2", ".xml")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FILES = sorted(
    p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file() and p.name.endswith(BPMN_SUFFIXES)
)


def _tree(path: Path):
    try:
        return etree.parse(str(path))
    except etree.XMLSyntaxError:
        return None


def _calls(tree) -> tuple[set[str], set[str], set[str]]:
    """(processes defined, processes called, decisions called) by a BPMN document."""
    if tree is None:
        return set(), set(), set()
    root = tree.getroot()
    defined = {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity") if c.get("calledElement")}
    return defined, called, set(dmn.called_decisions(tree).values())


def _decision_files(folder: Path) -> dict[str, set[str]]:
    found = {}
    for path in sorted(folder.rglob("*.dmn")):
        tree = _tree(path)
        if tree is not None:
            found[path.relative_to(folder).as_posix()] = set(dmn.decision_ids(tree))
    return found


def companions(rel: str) -> dict[str, bytes]:
    """The file plus what it needs from its folder, by name (a name only once)."""
    path = CORPUS / rel
    folder = path.parent
    files = {path.name: path.read_bytes()}
    defined, called, decisions = _calls(_tree(path))
    others = {p.name: p for p in sorted(folder.iterdir()) if p.is_file() and p.name.endswith(BPMN_SUFFIXES)}
    tables = _decision_files(folder)
    changed = True
    while changed:
        changed = False
        for name, other in others.items():
            if name in files or not (called - defined):
                continue
            other_defined, other_called, other_decisions = _calls(_tree(other))
            if other_defined & (called - defined):
                files[name] = other.read_bytes()
                defined |= other_defined
                called |= other_called
                decisions |= other_decisions
                changed = True
    for name, ids in tables.items():
        if ids & decisions and Path(name).name not in files:
            files[Path(name).name] = (folder / name).read_bytes()
    return files


def spiff_builds(files: dict[str, bytes], own: set[str]) -> dict[str, bool]:
    """Process id -> whether plain SpiffWorkflow builds it from these files."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for name, content in files.items():
            if name.endswith(".dmn"):
                parser.add_dmn_str(content, filename=name)
            else:
                parser.add_bpmn_str(content, filename=name)
        ids = [pid for pid in parser.get_process_ids() if pid in own]
    except (ValidationException, etree.XMLSyntaxError):
        return {}
    built = {}
    for pid in ids:
        try:
            parser.get_spec(pid)
            parser.get_subprocess_specs(pid)
            built[pid] = True
        except ValidationException:
            built[pid] = False
    return built


def _buildable() -> list[tuple[str, str]]:
    cases = []
    for rel in FILES:
        files = companions(rel)
        own, _, _ = _calls(_tree(CORPUS / rel))
        cases.extend((rel, pid) for pid, ok in spiff_builds(files, own).items() if ok)
    return cases


BUILDABLE = _buildable()
WITH_DECISIONS = [(rel, pid) for rel, pid in BUILDABLE if any(n.endswith(".dmn") for n in companions(rel))]


@pytest.mark.parametrize("rel,pid", BUILDABLE, ids=[f"{r}[{p}]" for r, p in BUILDABLE])
def test_every_process_spiffworkflow_builds_with_its_companions_imports_as_a_bundle(rel, pid):
    files = companions(rel)
    bundle = parse_bundle(files, pid)
    assert bundle.spec.name == pid
    report = validate_template(files, pid)
    assert report.imported, [f.to_dict() for f in report.errors]
    assert not [f for f in report.errors if f.code in ("import", "called-decision", "called-process")]


def test_corpus_bundle_counts():
    """The counts the report quotes; a change in the corpus or the engine shows up here."""
    assert len(FILES) == 78
    assert len(BUILDABLE) == 37  # 31 from single files (test_corpus.py) + 6 that need their DMN
    assert len(WITH_DECISIONS) == 7
    assert {rel for rel, _ in WITH_DECISIONS} >= {
        "spiff/spiff/business_rule_task.bpmn",
        "spiff-example-cli/tutorial/top_level.bpmn",
        "spiff-sample-models/user-guide-basics/user-guide-basics.bpmn",
    }


@pytest.mark.parametrize("rel,pid", WITH_DECISIONS[:3], ids=[f"{r}[{p}]" for r, p in WITH_DECISIONS[:3]])
def test_a_bundle_with_decision_tables_publishes_with_all_its_files(runtime, rel, pid):
    rt = runtime
    files = companions(rel)
    definition = definitions.deploy(rt, files, process_id=pid)
    stored = definitions.template_files(rt, definition.id)
    assert set(stored) == set(files)
    assert any(name.endswith(".dmn") for name in stored)
