"""Template validation: each rule names the element at fault, budgets are summed along the
longest path (loops cut, budget groups counted once) and compared with the legal limit, and no
input makes the validator raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.step_tables import build_bpmn
from configurator.validation import validate_template
from tests.corpus import CORPUS

SUFFIXES = {".bpmn", ".bpmn2", ".xml", ".dmn"}


def bpmn(body: str, process_ext: str = "", process_id: str = "p", extra: str = "") -> bytes:
    """A one-process BPMN document around `body` (flow nodes and flows)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:motcua="https://motcua.vn/schema/bpmn/1.0" id="defs" targetNamespace="https://motcua.vn/t">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:extensionElements>{process_ext}</bpmn:extensionElements>
{body}
  </bpmn:process>
{extra}
</bpmn:definitions>""".encode()


def task(task_id: str, role: str | None = "chuyen_vien", budget: str | None = "1d", group: str | None = None) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in (("role", role), ("budget", budget), ("budgetGroup", group)) if v)
    return (
        f'<bpmn:userTask id="{task_id}" name="{task_id}"><bpmn:extensionElements>'
        f"<motcua:step {attrs}/></bpmn:extensionElements></bpmn:userTask>"
    )


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        f"</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def chain(*tasks: str) -> str:
    """start -> tasks... -> end, each task given as XML with its id in `id="..."`."""
    ids = ["start"] + [t.split('id="')[1].split('"')[0] for t in tasks] + ["end"]
    flows = [flow(f"f{i}", a, b) for i, (a, b) in enumerate(zip(ids, ids[1:]), start=1)]
    return "\n".join(['<bpmn:startEvent id="start"/>', *tasks, '<bpmn:endEvent id="end"/>', *flows])


def table(**overrides) -> dict:
    base = {
        "process_id": "thu_tuc",
        "name": "Thủ tục",
        "legal_limit": "3d",
        "roles": {"mot_cua": "Một cửa", "chuyen_vien": "Chuyên viên", "lanh_dao": "Lãnh đạo"},
        "steps": [
            {"id": "tiep_nhan", "role": "mot_cua", "budget": "4h", "next": "tham_dinh"},
            {"id": "tham_dinh", "role": "chuyen_vien", "budget": "1d", "next": "ky_duyet"},
            {"id": "ky_duyet", "role": "lanh_dao", "budget": "4h", "next": "hoan_thanh"},
            {"id": "hoan_thanh", "kind": "end", "status": 9},
        ],
    }
    base.update(overrides)
    return base


def validate(content: bytes, **kwargs):
    return validate_template({"t.bpmn": content}, **kwargs)


def errors(report, code: str) -> list:
    return [f for f in report.errors if f.code == code]


def test_a_step_table_template_is_valid_and_reports_its_longest_path():
    report = validate(build_bpmn(table()))

    assert report.ok, report.errors
    assert report.imported and report.process_id == "thu_tuc"
    assert report.longest_path == ["StartEvent_1", "tiep_nhan", "tham_dinh", "ky_duyet", "hoan_thanh"]
    assert report.longest_path_minutes == 960  # 4h + 1d + 4h = 2 working days
    assert report.legal_limit_minutes == 3 * 480


def test_malformed_xml_is_reported_with_its_line():
    report = validate(b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<oops>\n</bpmn:definitions>')

    [finding] = report.errors
    assert finding.code == "xml" and finding.line == 4 and finding.file == "t.bpmn"


def test_a_doctype_is_refused_as_unsafe():
    report = validate(b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x "y">]>\n<d>&x;</d>')

    [finding] = report.errors
    assert finding.code == "xml" and finding.line == 2 and "DOCTYPE" in finding.message


def test_schema_violations_are_reported_with_their_line():
    content = bpmn(chain('<bpmn:userTask id="t1"><bpmn:bogus/></bpmn:userTask>'))

    report = validate(content)

    [finding] = errors(report, "import")
    assert finding.line == content.decode().splitlines().index('<bpmn:startEvent id="start"/>') + 2
    assert not report.imported


def test_spiffworkflow_checks_name_the_element():
    body = "\n".join(
        [
            '<bpmn:startEvent id="start"/>',
            task("t1"),
            '<bpmn:exclusiveGateway id="gw"/>',
            '<bpmn:endEvent id="end"/>',
            flow("f1", "start", "t1"),
            flow("f2", "t1", "gw"),
            flow("f3", "gw", "end", "x == 1"),
            flow("f4", "gw", "end"),
        ]
    )

    report = validate(bpmn(body))

    [finding] = errors(report, "import")
    assert finding.element_id == "f4" and finding.line is not None and not report.imported


@pytest.mark.parametrize(
    ("step", "code"),
    [
        (task("t1", role=None), "role-missing"),
        (task("t1", budget=None), "budget-missing"),
        (task("t1", budget="ba ngày"), "duration"),
        (task("t1", budget=None, group="khong_co"), "budget-group-unknown"),
    ],
)
def test_each_human_step_needs_a_role_and_a_valid_budget(step, code):
    report = validate(bpmn(chain(step), '<motcua:procedure legalLimit="3d"/>'))

    assert [f.element_id for f in errors(report, code)] == ["t1"]


def test_a_role_may_come_from_the_lane_and_a_budget_from_a_group():
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="chuyen_vien">'
        "<bpmn:flowNodeRef>t1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
    )
    content = bpmn(
        lanes + chain(task("t1", role=None, budget=None, group="g")),
        '<motcua:procedure legalLimit="3d"/><motcua:budgetGroup id="g" budget="2d"/>',
    )

    report = validate(content)

    assert report.ok, report.errors
    assert report.longest_path_minutes == 960


def test_a_bad_legal_limit_and_escalation_offset_name_their_element():
    step = task("t1").replace(
        "/></bpmn:extensionElements>",
        '/><motcua:escalation after="soon" action="notify" target="x"/></bpmn:extensionElements>',
    )
    report = validate(bpmn(chain(step), '<motcua:procedure legalLimit="ngay"/>'))

    assert sorted(f.element_id for f in errors(report, "duration")) == ["p", "t1"]


def test_a_node_without_outgoing_flow_that_is_not_an_end_event_is_an_error():
    body = chain(task("t1")) + task("dead_end") + flow("fx", "t1", "dead_end")
    body = body.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="end"/>',
        '<bpmn:exclusiveGateway id="gw" default="f2b"/>'
        + flow("f2", "t1", "gw")
        + flow("f2b", "gw", "end")
        + flow("f2c", "gw", "dead_end", "x == 1"),
    )
    body = body.replace(flow("fx", "t1", "dead_end"), "")

    report = validate(bpmn(body))

    assert [f.element_id for f in errors(report, "no-outgoing")] == ["dead_end"]
    assert not errors(report, "no-end")  # the dead end explains why its predecessors cannot end


def test_a_node_that_cannot_be_reached_from_the_start_is_an_error():
    body = chain(task("t1")) + task("orphan") + flow("fo", "orphan", "end")

    report = validate(bpmn(body))

    assert [f.element_id for f in errors(report, "unreachable")] == ["orphan"]


def test_a_loop_without_an_exit_is_an_error():
    body = "\n".join(
        [
            '<bpmn:startEvent id="start"/>',
            task("t1"),
            task("a"),
            task("b"),
            '<bpmn:exclusiveGateway id="gw" default="f3"/>',
            '<bpmn:endEvent id="end"/>',
            flow("f1", "start", "t1"),
            flow("f2", "t1", "gw"),
            flow("f3", "gw", "end"),
            flow("f4", "gw", "a", "x == 1"),
            flow("f5", "a", "b"),
            flow("f6", "b", "a"),
        ]
    )

    report = validate(bpmn(body))

    assert sorted(f.element_id for f in errors(report, "no-end")) == ["a", "b"]


def test_every_non_default_flow_out_of_a_decision_needs_a_condition():
    body = "\n".join(
        [
            '<bpmn:startEvent id="start"/>',
            task("t1"),
            task("t2"),
            '<bpmn:exclusiveGateway id="quyet_dinh"/>',
            '<bpmn:endEvent id="end"/>',
            flow("f1", "start", "t1"),
            flow("f2", "t1", "quyet_dinh"),
            flow("f3", "quyet_dinh", "t2", "ket_qua == 'dat'"),
            flow("f4", "quyet_dinh", "end"),
            flow("f5", "t2", "end"),
        ]
    )

    report = validate(bpmn(body))

    [finding] = errors(report, "gateway-condition")
    assert finding.element_id == "quyet_dinh" and "'f4'" in finding.message
    assert validate(bpmn(body.replace('id="quyet_dinh"/>', 'id="quyet_dinh" default="f4"/>'))).ok


def test_an_inclusive_gateway_follows_the_same_rule():
    body = "\n".join(
        [
            '<bpmn:startEvent id="start"/>',
            '<bpmn:inclusiveGateway id="split"/>',
            task("a"),
            task("b"),
            '<bpmn:inclusiveGateway id="join"/>',
            '<bpmn:endEvent id="end"/>',
            flow("f1", "start", "split"),
            flow("f2", "split", "a", "x"),
            flow("f3", "split", "b"),
            flow("f4", "a", "join"),
            flow("f5", "b", "join"),
            flow("f6", "join", "end"),
        ]
    )

    report = validate(bpmn(body))

    assert [f.element_id for f in errors(report, "gateway-condition")] == ["split"]


@pytest.mark.parametrize("condition", ["ket_qua ==", "().__class__.__bases__[0].__subclasses__()"])
def test_unsafe_or_broken_expressions_name_their_element(condition):
    body = "\n".join(
        [
            '<bpmn:startEvent id="start"/>',
            task("t1"),
            '<bpmn:exclusiveGateway id="gw" default="f3"/>',
            '<bpmn:endEvent id="end"/>',
            flow("f1", "start", "t1"),
            flow("f2", "t1", "gw"),
            flow("f3", "gw", "end"),
            flow("nhanh_loi", "gw", "end", condition),
        ]
    )

    report = validate(bpmn(body))

    assert {f.element_id for f in errors(report, "expression")} == {"nhanh_loi"}


def test_a_call_activity_must_call_a_process_in_the_files():
    body = chain('<bpmn:callActivity id="goi" calledElement="khong_ton_tai"/>')

    report = validate(bpmn(body))

    assert [f.element_id for f in errors(report, "called-process")] == ["goi"]


def test_a_called_process_may_live_in_another_file_of_the_template():
    main = bpmn(chain('<bpmn:callActivity id="goi" calledElement="con"/>'), '<motcua:procedure legalLimit="3d"/>')
    called = bpmn(chain(task("t_con")), process_id="con").replace(b'isExecutable="true"', b'isExecutable="false"')

    report = validate_template({"main.bpmn": main, "con.bpmn": called}, process_id="p")

    assert not errors(report, "called-process"), report.errors


def test_budgets_over_the_legal_limit_show_the_longest_path_and_total():
    content = build_bpmn(table(legal_limit="1d"))

    report = validate(content)

    [finding] = errors(report, "legal-limit")
    # The finding lands on every step of the path (not on the process), named as people read them.
    assert finding.element_id == "tiep_nhan" and finding.elements == ("tiep_nhan", "tham_dinh", "ky_duyet")
    assert report.longest_path_minutes == 960 and report.legal_limit_minutes == 480
    assert finding.message == (
        "the step budgets on the longest path add up to 2 days of working time, more than the "
        "legal limit of 1 day of working time: tiep_nhan → tham_dinh → ky_duyet"
    )


def test_the_given_legal_limit_wins_over_the_template():
    report = validate(build_bpmn(table(legal_limit="1d")), legal_limit_minutes=5 * 480)

    assert report.ok and report.legal_limit_minutes == 2400


def same_day_table(*budgets: str) -> dict:
    steps = table()["steps"]
    for step, budget in zip(steps, budgets):
        step["budget"] = budget
    return table(legal_limit="same day", steps=steps)


def test_a_same_day_procedure_must_fit_in_the_time_left_after_its_cut_off():
    over = validate(build_bpmn(same_day_table("30m", "1h", "1h")), clock_cutoff="15:00")

    [finding] = errors(over, "legal-limit-same-day")
    assert finding.elements == ("tiep_nhan", "tham_dinh", "ky_duyet") and over.legal_limit_minutes == 0
    assert finding.message == (
        "the step budgets on the longest path add up to 2 hours 30 minutes of working time, "
        "more than the 2 hours of working time a same-day procedure has after its 15:00 "
        "cut-off: tiep_nhan → tham_dinh → ky_duyet"
    )
    assert finding.params["left"].message == "2 hours of working time" and not errors(over, "legal-limit")
    assert validate(build_bpmn(same_day_table("15m", "1h", "45m")), clock_cutoff="15:00").ok


def test_without_a_cut_off_a_same_day_procedure_has_one_working_day():
    assert validate(build_bpmn(same_day_table("2h", "4h", "2h"))).ok
    [finding] = errors(validate(build_bpmn(same_day_table("2h", "4h", "3h"))), "legal-limit-same-day")
    assert "more than the working day a same-day procedure has" in finding.message


@pytest.mark.parametrize("written", ["trong ngày", "0d", "Same day"])
def test_a_same_day_legal_limit_in_the_bpmn_is_read_however_it_is_written(written):
    content = bpmn(chain(task("t1", budget="3h")), f'<motcua:procedure legalLimit="{written}"/>')

    report = validate(content, clock_cutoff="15:00")

    assert report.legal_limit_minutes == 0 and not errors(report, "duration")
    assert [f.code for f in report.errors] == ["legal-limit-same-day"]


def test_a_catalogue_same_day_limit_wins_over_the_template_limit():
    report = validate(build_bpmn(table()), legal_limit_minutes=0, clock_cutoff="15:00")

    assert [f.code for f in report.errors] == ["legal-limit-same-day"]


def test_loops_are_cut_so_the_longest_path_is_finite():
    steps = table()["steps"]
    steps[0]["next"] = [{"to": "bo_sung", "when": "ket_qua == 'bo_sung'"}, {"to": "tham_dinh", "default": True}]
    steps[2]["next"] = [{"to": "tham_dinh", "when": "ket_qua == 'tra_lai'"}, {"to": "hoan_thanh", "default": True}]
    steps.insert(1, {"id": "bo_sung", "role": "mot_cua", "budget": "1d", "next": "tiep_nhan"})

    report = validate(build_bpmn(table(steps=steps)))

    assert report.ok, report.errors
    assert report.longest_path_minutes == 960
    assert [n for n in report.longest_path if not n.startswith(("Gateway_", "StartEvent"))] == [
        "tiep_nhan",
        "tham_dinh",
        "ky_duyet",
        "hoan_thanh",
    ]


def test_steps_sharing_a_budget_group_count_its_budget_once():
    steps = table()["steps"]
    steps[1].update(budget_group="ubnd")
    steps[2].update(budget_group="ubnd")
    content = build_bpmn(table(steps=steps, budget_groups=[{"id": "ubnd", "budget": "1.5d"}]))

    report = validate(content)

    assert report.longest_path_minutes == 240 + 720  # tiep_nhan 4h + the group's 1.5d once
    assert report.ok


def test_the_longest_branch_wins():
    steps = table()["steps"]
    steps[0]["next"] = [{"to": "nhanh", "when": "nhanh"}, {"to": "tham_dinh", "default": True}]
    steps.insert(1, {"id": "nhanh", "role": "mot_cua", "budget": "2d", "next": "ky_duyet"})

    report = validate(build_bpmn(table(steps=steps)))

    assert "nhanh" in report.longest_path and report.longest_path_minutes == 240 + 960 + 240


def test_a_decision_table_alone_is_not_a_template():
    report = validate_template({"d.dmn": b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>'})

    assert [f.code for f in report.errors] == ["no-process"]


def test_garbage_input_is_a_finding_not_an_exception():
    for content in (b"", b"\x00\xff", b"<a/>", b"<<<", "text, not bytes"):
        report = validate_template({"x.bpmn": content})
        assert not report.ok


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_gets_a_report(path):
    report = validate_template({path.name: path.read_bytes()})

    assert not [f for f in report.findings if f.code == "check-failed"], report.findings
    assert all(f.severity in ("error", "warning") and f.message for f in report.findings)
    report.to_dict()  # serialisable for the CLI and the editor
