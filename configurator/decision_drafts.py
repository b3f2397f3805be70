"""Decision tables (DMN) edited on their own: saving one into the template's draft (with the
draft's BPMN and forms), and the blank table a new business rule task starts from.

Like the diagram's draft, a table is kept even while the template does not validate, so no work is
lost; the draft publishes with every file at once (configurator.drafts.publish).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from configurator import drafts
from configurator.validation import validate_template
from engine.bpmn import dmn
from engine.bpmn.xml import parse_xml
from engine.domain.errors import EngineError
from engine.services import definitions
from engine.services.runtime import Runtime

_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}\.dmn$")
_DECISION_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")


def decision_files(files) -> list[str]:
    """The DMN files of a version, by name."""
    return sorted(name for name in files if name.endswith(dmn.DMN_SUFFIXES))


def save_decision_table(
    rt: Runtime, key: str, file_name: str, content: bytes, *, base_version: int | None = None
) -> drafts.SavedDraft:
    """Store `content` as the table `file_name` of the template's draft; returns the draft and the
    whole template's validation report (the table's own findings carry its file name).

    Raises:
        DraftRefused: a bad file name, or not a DMN document; nothing written.
    """
    _refuse_bad_table(file_name, content)
    drafts.refuse_unknown(rt, key)
    base_files = drafts.files_of_base(rt, key, base_version)
    files = {**base_files, file_name: content.decode("utf-8")}
    main = drafts.main_file(files, key)
    bpmn = files[main].encode("utf-8") if main else b""
    limit = drafts.legal_limit_minutes(rt, key, bpmn) if main else None
    report = validate_template(
        {n: c.encode("utf-8") for n, c in definitions.model_files(files).items()},
        key,
        limit,
        clock_cutoff=drafts.clock_cutoff(rt, key),
    )
    with rt.db.session() as s:
        draft = drafts.write_draft(rt, s, key, files, bpmn, limit)
        return drafts.SavedDraft(key, draft.version, draft.id, report)


def _refuse_bad_table(file_name: str, content: bytes) -> None:
    if not _FILE_NAME.match(file_name or ""):
        raise drafts.DraftRefused(
            "'%(name)s' is not a decision table file name (letters, digits, _ - . and .dmn)",
            field="file",
            name=(file_name or "")[:100],
        )
    try:
        content.decode("utf-8")
        tree = parse_xml(content, file_name=file_name)
    except (EngineError, ValueError) as exc:
        raise drafts.DraftRefused("the decision table cannot be read: %(error)s", field="dmn", error=str(exc)) from None
    if not dmn.is_dmn(tree):
        raise drafts.DraftRefused("%(name)s is not a DMN document", field="dmn", name=file_name)


def blank_table(decision_id: str, name: str) -> str:
    """A one-rule table (an input, an output) for a new decision, in DMN 1.3 as dmn-js writes it."""
    if not _DECISION_ID.match(decision_id or ""):
        raise drafts.DraftRefused(
            "'%(id)s' is not a decision id (a letter or _, then letters, digits or _)",
            field="decision",
            id=(decision_id or "")[:100],
        )
    did, label = escape(decision_id), escape(name or decision_id, {'"': "&quot;"})
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="Definitions_{did}" name="{label}" namespace="https://motcua.vn/schema/dmn/1.0">
  <decision id="{did}" name="{label}">
    <decisionTable id="Table_{did}" hitPolicy="UNIQUE">
      <input id="Input_{did}_1" label="Đầu vào">
        <inputExpression id="InputExpression_{did}_1" typeRef="string"><text>ket_qua</text></inputExpression>
      </input>
      <output id="Output_{did}_1" label="Kết quả" name="{did}_ket_qua" typeRef="string" />
      <rule id="Rule_{did}_1">
        <inputEntry id="InputEntry_{did}_1"><text>-</text></inputEntry>
        <outputEntry id="OutputEntry_{did}_1"><text>""</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="DMNDiagram_{did}">
      <dmndi:DMNShape id="DMNShape_{did}" dmnElementRef="{did}">
        <dc:Bounds height="80" width="180" x="160" y="100" />
      </dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
'''
