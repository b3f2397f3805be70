"""A published template whose reception step ends with a template author's script, and the
checks every script attack shares: refused naming the step, the dossier left as it was."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from engine.domain.errors import ExpressionError
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import RECEPTION
from tests.factories import add_units

#: A refusal must come this fast even on the shared 2-core machine (the attacks took minutes).
QUICKLY_SECONDS = 5.0


def deploy_with_reception_script(rt, script: str):
    """five_steps with `script` run when reception (element `tiep_nhan`) is completed."""
    add_units(rt)
    bpmn = (
        (BPMN_DIR / "five_steps.bpmn")
        .read_text()
        .replace("xmlns:motcua=", 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:motcua=')
        .replace(
            '<motcua:step role="mot_cua" budget="4h" status="2"/>',
            '<motcua:step role="mot_cua" budget="4h" status="2"/>'
            f"<spiffworkflow:postScript>{escape(script)}</spiffworkflow:postScript>",
        )
    )
    return definitions.deploy(rt, {"five_steps.bpmn": bpmn.encode()})


def start(rt, definition):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )


def open_items(rt, dossier_id) -> list[WorkItemRecord]:
    with rt.db.session() as s:
        return list(
            s.scalars(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
            )
        )


def saved(rt, dossier_id) -> tuple[int, str]:
    with rt.db.session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        return dossier.version, dossier.state


def assert_reception_refused_quickly(rt, script: str, data: dict, match: str) -> ExpressionError:
    """Completing reception runs `script`: refused within QUICKLY_SECONDS naming `tiep_nhan`,
    twice in a row (the dossier still loads), with the saved state and the open step unchanged."""
    dossier = start(rt, deploy_with_reception_script(rt, script))
    [item] = open_items(rt, dossier.id)
    before = saved(rt, dossier.id)
    for _attempt in range(2):
        began = time.perf_counter()
        with pytest.raises(ExpressionError, match=match) as refused:
            dossiers.complete_work_item(rt, item.id, RECEPTION, data)
        assert time.perf_counter() - began < QUICKLY_SECONDS
        assert refused.value.element_id == "tiep_nhan"
    assert saved(rt, dossier.id) == before
    assert [i.id for i in open_items(rt, dossier.id)] == [item.id]
    return refused.value
