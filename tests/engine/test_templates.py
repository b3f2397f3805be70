"""Templates: parsed once per content, roles and budgets read from ours and other tools' attributes,
unsafe or malformed templates refused with the element id or line."""

from __future__ import annotations

import pytest

from engine.bpmn.parser import SpecCache
from engine.bpmn.parser import parse_bundle
from engine.domain.errors import TemplateError
from engine.services import definitions
from tests.conftest import BPMN_DIR

FIVE = (BPMN_DIR / "five_steps.bpmn").read_bytes()

CAMUNDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Lanh dao"><bpmn:flowNodeRef>c</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="a" camunda:candidateGroups="mot_cua" camunda:dueDate="PT4H" camunda:priority="70">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="b"><bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidate_groups" value="chuyen_vien"/>
        <spiffworkflow:property name="sla_working_days" value="2"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="c"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="c"/><bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_roles_and_budgets_from_camunda_spiff_and_lanes():
    bundle = parse_bundle({"c.bpmn": CAMUNDA})
    a, b, c = (bundle.step(x) for x in "abc")
    assert (a.role, a.budget, a.priority) == ("mot_cua", "PT4H", 70)
    assert (b.role, b.budget) == ("chuyen_vien", "2d")
    assert (c.role, c.budget) == ("Lanh dao", None)


def test_many_variants_of_one_template_cost_one_parse():
    cache = SpecCache()
    bundles = {id(cache.get({"five.bpmn": FIVE}, "five_steps")) for _ in range(126)}
    assert (cache.parses, len(bundles)) == (1, 1)


def test_unsafe_expression_is_refused_at_deploy_naming_the_element(runtime):
    unsafe = FIVE.replace(b"hop_le == True", b"__import__('os').system('true') == 0")
    with pytest.raises(TemplateError, match="expression refused") as info:
        definitions.deploy(runtime, {"unsafe.bpmn": unsafe})
    assert info.value.element_id == "f4" and info.value.line


def test_runaway_loop_in_a_script_is_refused_at_deploy(runtime):
    looping = FIVE.replace(b"reminded = True", b"while True:\n    pass")
    with pytest.raises(TemplateError) as info:
        definitions.deploy(runtime, {"loop.bpmn": looping})
    assert info.value.element_id == "nhac_viec"


def test_malformed_xml_names_the_line():
    with pytest.raises(TemplateError) as info:
        parse_bundle({"bad.bpmn": FIVE.replace(b"</bpmn:userTask>", b"</bpmn:task>", 1)})
    assert info.value.line and info.value.file_name == "bad.bpmn"


def test_flow_to_a_missing_element_names_it():
    broken = FIVE.replace(b'targetRef="du_thao"', b'targetRef="khong_co"')
    with pytest.raises(TemplateError) as info:
        parse_bundle({"broken.bpmn": broken})
    assert info.value.message


def test_redeploying_the_same_content_keeps_the_version(runtime):
    first = definitions.deploy(runtime, {"five.bpmn": FIVE})
    again = definitions.deploy(runtime, {"five.bpmn": FIVE})
    changed = definitions.deploy(
        runtime, {"five.bpmn": FIVE.replace(b'budget="4h" status="2"', b'budget="2h" status="2"')}
    )
    assert (first.version, again.version, changed.version) == (1, 1, 2)
