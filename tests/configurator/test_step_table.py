"""Step tables: validation, BPMN + diagram generation, execution in SpiffWorkflow, round trips."""

from __future__ import annotations

import copy
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from configurator.step_tables import StepTableError
from configurator.step_tables import build_bpmn
from configurator.step_tables import normalise_table
from configurator.step_tables import step_table_from_bpmn
from configurator.step_tables import step_table_from_csv
from configurator.step_tables import step_table_from_json
from configurator.step_tables import step_table_to_csv
from engine.domain.errors import EngineError

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "motcua": "https://motcua.vn/schema/bpmn/1.0",
}
FLOW_NODES = ("startEvent", "userTask", "exclusiveGateway", "endEvent")

KHAI_SINH = {
    "process_id": "dang_ky_khai_sinh",
    "name": "Đăng ký khai sinh",
    "procedure_code": "1.001193",
    "legal_limit": "3d",
    "roles": {"mot_cua": "Bộ phận Một cửa", "tu_phap": "Công chức Tư pháp - Hộ tịch", "lanh_dao": "Lãnh đạo UBND xã"},
    "budget_groups": [{"id": "ubnd_tp", "budget": "7d", "name": "Các bước tại UBND xã"}],
    "defaults": {"warn_at": "75%", "escalations": [{"after": "0h", "action": "notify", "target": "assignee"}]},
    "steps": [
        {
            "id": "tiep_nhan",
            "name": "Tiếp nhận hồ sơ",
            "role": "mot_cua",
            "budget": "0.5d",
            "status": 2,
            "next": [
                {"to": "bo_sung", "when": "ket_qua == 'bo_sung'", "label": "Thiếu hồ sơ"},
                {"to": "tu_choi", "when": "ket_qua == 'tu_choi'"},
                {"to": "tham_dinh", "default": True},
            ],
        },
        {"id": "bo_sung", "name": "Chờ bổ sung", "role": "mot_cua", "budget": "0h", "next": "tiep_nhan"},
        {
            "id": "tham_dinh",
            "name": "Thẩm định",
            "role": "tu_phap",
            "budget": "1d",
            "budget_group": None,
            "form": "tham_dinh",
            "warn_at": "2h",
            "escalations": [
                {"after": "4h", "action": "notify", "target": "lanh_dao"},
                {"after": "1d", "action": "reassign", "target": "lanh_dao", "priority": 80},
            ],
            "next": "ky_duyet",
        },
        {
            "id": "ky_duyet",
            "name": "Ký duyệt",
            "role": "lanh_dao",
            "budget": "0.5d",
            "budget_group": "ubnd_tp",
            "next": [{"to": "tham_dinh", "when": "ket_qua == 'tra_lai'"}, {"to": "tra_ket_qua", "default": True}],
        },
        {"id": "tra_ket_qua", "name": "Trả kết quả", "role": "mot_cua", "budget": "0.5d", "next": "hoan_thanh"},
        {"id": "hoan_thanh", "kind": "end", "name": "Hoàn thành", "status": 9},
        {"id": "tu_choi", "kind": "end", "name": "Từ chối", "status": 3},
    ],
}

KHAI_SINH_CSV = """step_id,name,role,budget,next,condition,label,default,kind,status,budget_group,form,warn_at,escalations
# Đăng ký khai sinh, commune level
@process_id,dang_ky_khai_sinh
@name,Đăng ký khai sinh
@procedure_code,1.001193
@legal_limit,3d
@role,Bộ phận Một cửa,mot_cua
@role,Công chức Tư pháp - Hộ tịch,tu_phap
@role,Lãnh đạo UBND xã,lanh_dao
@budget_group,Các bước tại UBND xã,,7d,,,,,,,ubnd_tp
@defaults,,,,,,,,,,,,75%,0h notify assignee
tiep_nhan,Tiếp nhận hồ sơ,mot_cua,0.5d,bo_sung,ket_qua == 'bo_sung',Thiếu hồ sơ,,,2
,,,,tu_choi,ket_qua == 'tu_choi'
,,,,tham_dinh,,,x
bo_sung,Chờ bổ sung,mot_cua,0h,tiep_nhan
tham_dinh,Thẩm định,tu_phap,1d,ky_duyet,,,,,,,tham_dinh,2h,4h notify lanh_dao; 1d reassign lanh_dao 80
ky_duyet,Ký duyệt,lanh_dao,0.5d,tham_dinh,ket_qua == 'tra_lai',,,,,ubnd_tp
ky_duyet,,,,tra_ket_qua,,,yes
tra_ket_qua,Trả kết quả,mot_cua,0.5d,hoan_thanh

hoan_thanh,Hoàn thành,,,,,,,end,9
tu_choi,Từ chối,,,,,,,end,3
"""


@pytest.fixture(scope="module")
def bpmn() -> bytes:
    return build_bpmn(KHAI_SINH)


@pytest.fixture(scope="module")
def parser(bpmn) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(bpmn, filename="dang_ky_khai_sinh.bpmn")
    return parser


def diagram(xml: bytes):
    """(root, bounds by element id, waypoints by element id)."""
    root = etree.fromstring(xml)
    bounds = {
        s.get("bpmnElement"): tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
        for s in root.iterfind(".//bpmndi:BPMNShape", NS)
        for b in s.iterfind("dc:Bounds", NS)
    }
    waypoints = {
        e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.iterfind("di:waypoint", NS)]
        for e in root.iterfind(".//bpmndi:BPMNEdge", NS)
    }
    return root, bounds, waypoints


def flow_node_ids(root) -> list[str]:
    return [e.get("id") for tag in FLOW_NODES for e in root.iterfind(f".//bpmn:{tag}", NS)]


def overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def inside(inner, outer) -> bool:
    return (
        outer[0] <= inner[0]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and outer[1] <= inner[1]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def assert_diagram_is_complete(xml: bytes) -> None:
    root, bounds, waypoints = diagram(xml)
    nodes = flow_node_ids(root)
    assert set(nodes) <= set(bounds)
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        points = waypoints[flow.get("id")]
        assert len(points) >= 2
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in zip(points, points[1:])), flow.get("id")
    for a, b in itertools.combinations(nodes, 2):
        assert not overlaps(bounds[a], bounds[b]), (a, b)
    participant = root.find(".//bpmn:participant", NS).get("id")
    for lane in root.iterfind(".//bpmn:lane", NS):
        assert inside(bounds[lane.get("id")], bounds[participant])
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert inside(bounds[ref.text], bounds[lane.get("id")]), (ref.text, lane.get("id"))


def run(parser, decisions: dict[str, list[str]]) -> tuple[list[str], str]:
    """Work every user task, answering `ket_qua` from `decisions` ('ok' when not given)."""
    workflow = BpmnWorkflow(parser.get_spec("dang_ky_khai_sinh"), parser.get_subprocess_specs("dang_ky_khai_sinh"))
    workflow.do_engine_steps()
    path = []
    while not workflow.is_completed():
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        path.append(task.task_spec.name)
        answers = decisions.get(task.task_spec.name) or ["ok"]
        task.data["ket_qua"] = answers.pop(0)
        task.run()
        workflow.do_engine_steps()
    ends = [
        t.task_spec.name
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.name in ("hoan_thanh", "tu_choi")
    ]
    assert len(ends) == 1
    return path, ends[0]


# --- generation --------------------------------------------------------------------------------


def test_generated_bpmn_passes_spiff_validation(parser):
    assert parser.get_process_ids() == ["dang_ky_khai_sinh"]
    spec = parser.get_spec("dang_ky_khai_sinh")
    assert spec.task_specs["tham_dinh"].lane == "Công chức Tư pháp - Hộ tịch"
    assert spec.task_specs["Gateway_ky_duyet"].lane == "Lãnh đạo UBND xã"


def test_generated_bpmn_carries_the_motcua_extensions(bpmn):
    root = etree.fromstring(bpmn)
    process = root.find("bpmn:process", NS)
    assert process.get("isExecutable") == "true"
    assert process.find(".//motcua:procedure", NS).attrib == {"code": "1.001193", "legalLimit": "3d"}
    assert process.find(".//motcua:defaults", NS).get("warnAt") == "75%"
    assert process.find(".//motcua:budgetGroup", NS).get("budget") == "7d"
    step = process.find("bpmn:userTask[@id='tham_dinh']//motcua:step", NS)
    assert step.attrib == {"role": "tu_phap", "budget": "1d", "warnAt": "2h", "form": "tham_dinh"}
    assert process.find("bpmn:endEvent[@id='tu_choi']//motcua:status", NS).get("code") == "3"
    gateway = process.find("bpmn:exclusiveGateway[@id='Gateway_tiep_nhan']", NS)
    default = process.find(f"bpmn:sequenceFlow[@id='{gateway.get('default')}']", NS)
    assert default.get("targetRef") == "tham_dinh"
    assert default.find("bpmn:conditionExpression", NS) is None
    lanes = [lane.get("name") for lane in process.iterfind(".//bpmn:lane", NS)]
    assert lanes == ["Bộ phận Một cửa", "Công chức Tư pháp - Hộ tịch", "Lãnh đạo UBND xã"]


def test_diagram_has_every_shape_and_edge_without_overlaps(bpmn):
    assert_diagram_is_complete(bpmn)


def test_lanes_stack_and_nodes_go_left_to_right(bpmn):
    root, bounds, waypoints = diagram(bpmn)
    lanes = [bounds[lane.get("id")] for lane in root.iterfind(".//bpmn:lane", NS)]
    assert all(a[1] + a[3] == b[1] and a[0] == b[0] for a, b in zip(lanes, lanes[1:]))
    chain = [
        "StartEvent_1",
        "tiep_nhan",
        "Gateway_tiep_nhan",
        "tham_dinh",
        "ky_duyet",
        "Gateway_ky_duyet",
        "tra_ket_qua",
        "hoan_thanh",
    ]
    xs = [bounds[node][0] for node in chain]
    assert xs == sorted(xs)
    # The loop back from ky_duyet to tham_dinh runs below every lane.
    lowest = max(y + h for _, y, _, h in (bounds[n] for n in flow_node_ids(root)))
    loop = next(
        f.get("id")
        for f in root.iterfind(".//bpmn:sequenceFlow", NS)
        if f.get("targetRef") == "tham_dinh" and f.get("sourceRef") == "Gateway_ky_duyet"
    )
    assert max(y for _, y in waypoints[loop]) > lowest


# --- execution ---------------------------------------------------------------------------------


def test_approved_dossier_runs_to_the_normal_end(parser):
    assert run(parser, {}) == (["tiep_nhan", "tham_dinh", "ky_duyet", "tra_ket_qua"], "hoan_thanh")


def test_refused_dossier_ends_in_tu_choi(parser):
    assert run(parser, {"tiep_nhan": ["tu_choi"]}) == (["tiep_nhan"], "tu_choi")


def test_loops_for_missing_papers_and_sending_back(parser):
    path, end = run(parser, {"tiep_nhan": ["bo_sung", "ok"], "ky_duyet": ["tra_lai", "ok"]})
    assert path == [
        "tiep_nhan",
        "bo_sung",
        "tiep_nhan",
        "tham_dinh",
        "ky_duyet",
        "tham_dinh",
        "ky_duyet",
        "tra_ket_qua",
    ]
    assert end == "hoan_thanh"


# --- round trips -------------------------------------------------------------------------------


def test_table_to_bpmn_to_table_gives_the_same_table(bpmn):
    assert step_table_from_bpmn(bpmn) == step_table_from_json(KHAI_SINH)


def test_json_text_and_csv_give_the_same_table():
    from_json = step_table_from_json(json.dumps(KHAI_SINH, ensure_ascii=False))
    assert from_json == normalise_table(KHAI_SINH)
    assert step_table_from_csv(KHAI_SINH_CSV) == from_json


def test_csv_written_by_us_reads_back():
    table = normalise_table(KHAI_SINH)
    assert step_table_from_csv(step_table_to_csv(table)) == table


def test_csv_settings_can_come_from_arguments():
    body = "step_id,name,role,budget,next,kind\na,Bước A,r,1d,b\nb,Kết thúc,,,,end\n"
    table = step_table_from_csv(body, process_id="p", roles={"r": "Vai trò"})
    assert table["process_id"] == "p"
    assert [s["id"] for s in table["steps"]] == ["a", "b"]
    assert build_bpmn(table).startswith(b"<?xml")


def test_csv_problems_name_the_row():
    body = "step_id,name,role,budget,next,escalations\n@colour,x\na,A,r,1d,b,4h notify\n,,r2,,c\n"
    with pytest.raises(StepTableError) as caught:
        step_table_from_csv(body)
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith("row 2:") and "@colour" in p for p in problems)
    assert any(p.startswith("row 3:") and "escalation" in p for p in problems)
    assert any(p.startswith("row 4:") and "role" in p for p in problems)


def test_diagram_edited_in_an_editor_still_reads_back(bpmn):
    # Given a modeller who renamed a task, moved it, and let the editor rename gateway and flows
    root = etree.fromstring(bpmn)
    process = root.find("bpmn:process", NS)
    renames = {"Gateway_ky_duyet": "Gateway_0x1abc", "Flow_9": "Flow_1q2w3e"}
    for element in root.iter():
        for attr in ("id", "default", "sourceRef", "targetRef", "bpmnElement"):
            if element.get(attr) in renames:
                element.set(attr, renames[element.get(attr)])
        if isinstance(element.tag, str) and element.text in renames:
            element.text = renames[element.text]
    process.find("bpmn:userTask[@id='ky_duyet']", NS).set("name", "Ký duyệt kết quả")
    # ... and whose editor dropped the role from one step (the lane still says it)
    step = process.find("bpmn:userTask[@id='tra_ket_qua']//motcua:step", NS)
    del step.attrib["role"]
    root.find(".//bpmndi:BPMNShape[@bpmnElement='ky_duyet']/dc:Bounds", NS).set("x", "790")
    # When it is read back
    table = step_table_from_bpmn(etree.tostring(root))
    # Then it is the same table with the new name
    expected = copy.deepcopy(normalise_table(KHAI_SINH))
    expected["steps"][3]["name"] = "Ký duyệt kết quả"
    assert table == expected


def test_a_diagram_that_is_not_a_step_chain_is_refused(bpmn):
    root = etree.fromstring(bpmn)
    process = root.find("bpmn:process", NS)
    etree.SubElement(process, f"{{{NS['bpmn']}}}parallelGateway", id="fork")
    etree.SubElement(process, f"{{{NS['bpmn']}}}sequenceFlow", id="extra", sourceRef="tham_dinh", targetRef="fork")
    with pytest.raises(StepTableError) as caught:
        step_table_from_bpmn(etree.tostring(root))
    assert any("'fork'" in str(p) for p in caught.value.problems)
    assert any("'tham_dinh'" in str(p) and "2 outgoing" in str(p) for p in caught.value.problems)


# --- validation --------------------------------------------------------------------------------


def test_a_table_with_problems_lists_all_of_them():
    table = {
        "process_id": "p",
        "roles": {"r": "Vai trò"},
        "steps": [
            {"id": "a", "name": "A", "role": "r", "budget": "1d", "next": [{"to": "b"}, {"to": "ghost"}]},
            {"id": "b", "name": "B", "budget": "1d", "next": "end"},
            {"id": "b", "name": "B again", "role": "r", "budget": "1d", "next": "end"},
            {"id": "c", "name": "C", "role": "r", "next": "end"},
            {"id": "1bad", "name": "Bad id", "role": "r", "budget": "2 days", "next": "end"},
            {
                "id": "d",
                "name": "D",
                "role": "r",
                "budget": "1d",
                "next": [{"to": "end", "when": "x ==="}, {"to": "b", "default": True}],
            },
            {"id": "end", "kind": "end", "name": "End", "status": 9},
        ],
    }
    with pytest.raises(StepTableError) as caught:
        build_bpmn(table)
    error = caught.value
    assert isinstance(error, EngineError)
    text = "\n".join(str(p) for p in error.problems)
    for expected in (
        "step 'a': next step 'ghost' does not exist",
        "step 'a': has several next steps but no conditions and no default",
        "step 'b': has no role",
        "step 'b': duplicate id",
        "step 'c': has no budget",
        "step 'c': cannot be reached",
        "step '1bad': id is not a valid XML name",
        "step '1bad': budget '2 days' is not a duration",
        "step 'd': condition 'x ===' is not a Python expression",
        "step 'd': cannot be reached",
    ):
        assert expected in text, expected
    assert str(error).count("\n- ") == len(error.problems)


def test_other_mistakes_are_named():
    table = normalise_table(KHAI_SINH)
    table["steps"][0]["next"][2].pop("default")
    table["steps"][1]["role"] = "ke_toan"
    table["steps"][3]["budget_group"] = "khong_co"
    table["steps"][5]["next"] = [{"to": "tiep_nhan"}]
    table["steps"][6]["status"] = 42
    table["steps"].insert(
        1, {"id": "Gateway_tiep_nhan", "name": "x", "role": "mot_cua", "budget": "1d", "next": [{"to": "tham_dinh"}]}
    )
    with pytest.raises(StepTableError) as caught:
        build_bpmn(table)
    text = "\n".join(str(p) for p in caught.value.problems)
    for expected in (
        "step 'tiep_nhan': next step 'tham_dinh' needs a condition or default",
        "step 'bo_sung': role 'ke_toan' is not in roles",
        "step 'ky_duyet': budget group 'khong_co' is not in budget_groups",
        "step 'hoan_thanh': an end step cannot have next steps",
        "step 'tu_choi': status 42",
        "step 'Gateway_tiep_nhan': id is reserved",
    ):
        assert expected in text, expected


# --- any chain the table can describe ----------------------------------------------------------


@st.composite
def chains(draw):
    """Linear chains of 1-7 tasks over 3 roles, some steps sending back or refusing."""
    count = draw(st.integers(1, 7))
    roles = [draw(st.sampled_from(["a", "b", "c"])) for _ in range(count)]
    steps = []
    for i in range(count):
        forward = f"s{i + 1}" if i + 1 < count else "done"
        extra = draw(st.sampled_from(["none", "refuse", "back"]))
        edges = [{"to": forward, "default": True}]
        if extra == "refuse":
            edges.insert(0, {"to": "refused", "when": "ket_qua == 'tu_choi'"})
        elif extra == "back":
            edges.insert(0, {"to": f"s{draw(st.integers(0, i))}", "when": "ket_qua == 'tra_lai'"})
        steps.append(
            {
                "id": f"s{i}",
                "name": f"Bước {i}",
                "role": roles[i],
                "budget": "1d",
                "next": edges if len(edges) > 1 else forward,
            }
        )
    steps.append({"id": "done", "kind": "end", "name": "Xong", "status": 9})
    if any(e.get("to") == "refused" for s in steps for e in s.get("next", []) if isinstance(e, dict)):
        steps.append({"id": "refused", "kind": "end", "name": "Từ chối", "status": 3})
    return {"process_id": "chain", "roles": {"a": "A", "b": "B", "c": "C"}, "steps": steps}


@settings(max_examples=40, deadline=None)
@given(chains())
def test_any_chain_builds_a_valid_readable_diagram_and_reads_back(table):
    xml = build_bpmn(table)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml, filename="chain.bpmn")
    assert parser.get_spec("chain")
    assert_diagram_is_complete(xml)
    back = step_table_from_bpmn(xml)
    assert back["steps"] == normalise_table(table)["steps"]


def test_an_optional_step_goes_through_json_csv_bpmn_and_back():
    """`optional` (a commune may skip the step) is kept on every road and read by the engine."""
    from engine.bpmn.extensions import read_policies

    table = json.loads(json.dumps(KHAI_SINH))
    table["steps"][3]["optional"] = "có"  # how a clerk would mark it in a spreadsheet
    normalised = normalise_table(table)
    assert normalised["steps"][3]["optional"] == "true" and "optional" not in normalised["steps"][2]
    assert step_table_from_csv(step_table_to_csv(normalised)) == normalised
    bpmn = build_bpmn(normalised)
    assert step_table_from_bpmn(bpmn) == normalised
    [policy] = read_policies(etree.fromstring(bpmn)).values()
    assert policy.steps["ky_duyet"].optional and not policy.steps["tham_dinh"].optional
    table["steps"][3]["optional"] = "maybe"
    with pytest.raises(StepTableError, match="optional must be true or false, not 'maybe'"):
        build_bpmn(table)


@pytest.mark.parametrize("written", ["same day", "trong ngày", "Trong ngay", "0d"])
def test_a_same_day_limit_goes_through_json_csv_bpmn_and_back(written):
    """However the modeller writes it, the table says "same day" and so does the BPMN it builds."""
    from engine.bpmn.extensions import read_policies
    from engine.domain import deadlines

    table = normalise_table({**KHAI_SINH, "legal_limit": written})
    assert table["legal_limit"] == "same day"
    csv_text = KHAI_SINH_CSV.replace("@legal_limit,3d", f"@legal_limit,{written}")
    assert step_table_from_csv(csv_text) == table
    assert step_table_from_csv(step_table_to_csv(table)) == table
    bpmn = build_bpmn(table)
    assert step_table_from_bpmn(bpmn) == table
    [policy] = read_policies(etree.fromstring(bpmn)).values()
    assert deadlines.parse_legal_limit(policy.legal_limit) == deadlines.SAME_DAY


def test_a_legal_limit_that_is_neither_a_duration_nor_same_day_is_named():
    with pytest.raises(StepTableError) as caught:
        build_bpmn({**KHAI_SINH, "legal_limit": "trong tuần"})
    assert "legal_limit 'trong tuần' is not a duration like 3d, nor 'same day'" in [
        str(p) for p in caught.value.problems
    ]
