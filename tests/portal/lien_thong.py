"""The library's interconnected death registration with the police's part as another agency's
system would do it: the step «Xóa đăng ký thường trú» waits for the police system's message
(a receive task) instead of a police officer's step in our inbox."""

from __future__ import annotations

import re

from configurator import library
from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import WorkItemRecord

KEY = "lien_thong_dang_ky_khai_tu_xoa_dang_ky_thuong_tru"
MESSAGE = "da_xoa_thuong_tru"
SYSTEM = Actor.system()


def deploy_with_police_system(rt):
    [procedure] = [p for p in library.procedures() if p.key == KEY]
    xml = procedure.bpmn("v1").decode()
    xml = re.sub(
        r'<bpmn:userTask id="xoa_thuong_tru" name="([^"]+)">\s*<bpmn:extensionElements>.*?'
        r"</bpmn:extensionElements>(.*?)</bpmn:userTask>",
        r'<bpmn:receiveTask id="xoa_thuong_tru" name="\1" messageRef="Message_xoa_thuong_tru">'
        r'<bpmn:extensionElements><motcua:status code="4"/></bpmn:extensionElements>\2</bpmn:receiveTask>',
        xml,
        flags=re.S,
    )
    xml = xml.replace(
        "<bpmn:collaboration", f'<bpmn:message id="Message_xoa_thuong_tru" name="{MESSAGE}"/>\n  <bpmn:collaboration', 1
    )
    assert "receiveTask" in xml
    return definitions.deploy(rt, {f"{KEY}.bpmn": xml.encode()})


def open_step(rt, dossier_id):
    from sqlalchemy import select

    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
            )
        ).first()


def bring_to_police_step(rt, definition, unit_code="00070"):
    """Receive the dossier and run it through appraisal and signing: it then waits for the police."""
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code=unit_code, applicant_name="Trần Thị B", actor=SYSTEM
    )
    for data in ({"ket_qua": "tiep_nhan"}, {"ket_qua": "dat"}, {"ket_qua": "duyet"}):
        item = open_step(rt, dossier.id)
        dossiers.claim_work_item(rt, item.id, SYSTEM)
        dossiers.complete_work_item(rt, item.id, SYSTEM, data)
    assert open_step(rt, dossier.id) is None
    return dossier
