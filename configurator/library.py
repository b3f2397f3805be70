"""The shipped process library (processes/): reads procedures, builds their BPMN from the step
tables, and loads them into the database as published definitions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from configurator.step_tables import build_bpmn
from configurator.step_tables import step_table_from_json
from configurator.validation import validate_library_procedure
from engine.domain.errors import Problems
from engine.domain.errors import Reason
from engine.services import definitions
from engine.services.runtime import Runtime

LIBRARY = Path(__file__).resolve().parents[1] / "processes"


@dataclass(frozen=True)
class LibraryProcedure:
    key: str
    folder: Path
    catalogue: dict

    def versions(self) -> list[str]:
        return sorted((p.name for p in self.folder.glob("v*") if p.is_dir()), key=lambda v: int(v[1:]))

    def bpmn(self, version: str) -> bytes:
        """The version's BPMN: a hand-made process.bpmn wins over the step table."""
        folder = self.folder / version
        drawn = folder / "process.bpmn"
        if drawn.exists():
            return drawn.read_bytes()
        return build_bpmn(step_table_from_json((folder / "steps.json").read_text(encoding="utf-8")))

    def decision_tables(self, version: str) -> dict[str, bytes]:
        """The version's DMN files (its business rule tasks' decisions), by file name."""
        return {p.name: p.read_bytes() for p in sorted((self.folder / version).glob("*.dmn"))}

    def forms(self, version: str) -> dict[str, dict]:
        return {
            p.stem: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((self.folder / version / "forms").glob("*.json"))
        }


def procedures(root: Path = LIBRARY) -> list[LibraryProcedure]:
    found = []
    for manifest in sorted(root.glob("*/procedure.json")):
        if manifest.parent.name.startswith("_"):
            continue
        catalogue = json.loads(manifest.read_text(encoding="utf-8"))
        found.append(LibraryProcedure(catalogue["key"], manifest.parent, catalogue))
    return found


class LibraryRefused(Problems):
    """Some procedure's newest version does not validate; nothing of the library was published."""

    heading = "The library was not loaded:\n- "
    separator = "\n- "


def load(rt: Runtime, root: Path = LIBRARY) -> list:
    """Publish the newest version of every procedure (unchanged content is not re-published),
    after the same validation as `motcua bpmn check` and the editor's publish: when any
    procedure has an error, none is published and every error is named."""
    found = procedures(root)
    problems = [
        Reason.of(
            "%(procedure)s %(version)s: %(element)s: %(finding)s",
            procedure=p.key,
            version=p.versions()[-1],
            element=f.element_id or "-",
            finding=f.message,
        )
        for p in found
        for f in validate_library_procedure(p, p.versions()[-1]).errors
    ]
    if problems:
        raise LibraryRefused(problems)
    return [load_one(rt, procedure) for procedure in found]


def load_one(rt: Runtime, procedure: LibraryProcedure):
    version = procedure.versions()[-1]
    catalogue = procedure.catalogue
    cutoff = (catalogue.get("clock_start") or {}).get("cutoff")
    files = {f"{procedure.key}.bpmn": procedure.bpmn(version), **procedure.decision_tables(version)}
    files.update(
        {
            f"forms/{step}.json": json.dumps(form, ensure_ascii=False, sort_keys=True).encode("utf-8")
            for step, form in procedure.forms(version).items()
        }
    )
    return definitions.deploy(
        rt,
        files,
        process_id=procedure.key,
        name=catalogue["name"],
        procedure_code=catalogue.get("code"),
        legal_limit=f"{catalogue['legal_limit_days']}d",
        clock_cutoff=cutoff,
    )
