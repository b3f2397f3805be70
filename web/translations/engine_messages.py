"""The "engine" catalogue: the engine's and configurator's message templates (English ids) in
Vietnamese, at web/translations/vi/LC_MESSAGES/engine.po.

    .venv/bin/python web/translations/engine_messages.py

extracts every template written as the first argument of an engine error (`raise InvalidAction(
"...")`, `Reason.of("...")`, `english("...")`) and every validation finding's (configurator/
validation.py's `self.error(code, "...")`), adds the new ones with an empty msgstr and drops
the ones no code raises any more; then write the Vietnamese of every empty msgstr
(tests/web/test_engine_messages.py fails while one is left).

TemplateError and ExpressionError are left out: they describe a BPMN file to its modeller with
the element id and the expression, in the validator's English like the findings around them."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parents[2]
PO = Path(__file__).with_name("vi") / "LC_MESSAGES" / "engine.po"
SOURCES = ("engine", "configurator", "web")
#: Diagnostics of a BPMN file, for its modeller, in English (see the module's docstring).
UNTRANSLATED = frozenset({"TemplateError", "ExpressionError"})
MARKERS = ("english", "of")  # engine.domain.errors.english, Reason.of
#: The validator's findings: the message is the second argument of its error() and warning().
FINDINGS = ("configurator/validation.py", ("error", "warning"))


def error_classes() -> set[str]:
    """Names of EngineError and every subclass the engine and the configurator define."""
    for package in ("engine", "configurator"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            importlib.import_module(module.name)
    from engine.domain.errors import EngineError

    names, todo = set(), [EngineError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def keywords() -> dict[str, None]:
    return {name: None for name in sorted(error_classes() - UNTRANSLATED) + list(MARKERS)}


def extract() -> dict[str, list[str]]:
    """Each template, with the files that write it."""
    found: dict[str, list[str]] = {}
    for source in SOURCES:
        for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / source), [("**.py", "python")], keywords=keywords(), comment_tags=()
        ):
            if isinstance(message, str) and message:
                found.setdefault(message, []).append(f"{source}/{filename}")
    path, methods = FINDINGS
    for _line, message, _comments, _context in extract_from_file(
        "python", str(ROOT / path), keywords={name: (2,) for name in methods}, comment_tags=()
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(path)
    return found


def read_catalogue(path: Path = PO) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale="vi", domain="engine")


def merge(path: Path = PO) -> Catalog:
    current = read_catalogue(path) if path.exists() else Catalog(locale="vi", domain="engine")
    updated = Catalog(locale="vi", domain="engine", project="motcua", fuzzy=False, creation_date=current.creation_date)
    for template, places in sorted(extract().items()):
        known = current.get(template)
        updated.add(
            template,
            known.string if known else "",
            locations=[],
            auto_comments=sorted(set(places)),
            flags=("python-format",) if "%(" in template else (),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, updated, width=0, omit_header=False, sort_output=True)
    return updated


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    catalogue = merge()
    empty = [m.id for m in catalogue if m.id and not m.string]
    print(f"{len(catalogue)} messages, {len(empty)} without Vietnamese")
    for message in empty:
        print("  ", message)
