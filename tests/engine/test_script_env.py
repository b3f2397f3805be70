"""The restricted expression environment: what templates may run, what is refused, and that it
works as SpiffWorkflow's script environment in a real workflow run."""

from __future__ import annotations

import time
from datetime import datetime
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.script_env import ALLOWED_BUILTINS
from engine.bpmn.script_env import MAX_LOOP_ITEMS
from engine.bpmn.script_env import SafeEnvironment
from engine.bpmn.script_env import check_expression
from engine.bpmn.script_env import make_script_engine
from engine.domain.errors import ExpressionError


def add_working_days(start, n):
    """Test stub: n days later, skipping Saturdays and Sundays (no holiday table)."""
    day = datetime.fromisoformat(start)
    while n > 0:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day


HELPERS = {"add_working_days": add_working_days, "now": lambda: "2025-01-02T08:00:00+07:00"}


@pytest.fixture
def env():
    return SafeEnvironment(HELPERS)


# --------------------------------------------------------------------------------------------
# Allowed code gives the right value
# --------------------------------------------------------------------------------------------

DATA = {
    "fee": 50_000,
    "docs": ["cmnd", "don"],
    "answer": "Yes",
    "info": {"ward": "Ba Dinh"},
    "received": "2025-01-03T08:00:00+07:00",
}


@pytest.mark.parametrize(
    "expression,expected",
    [
        ("answer == 'Yes' and fee > 0", True),
        ("len(docs) * 2 + fee // 1000", 54),
        ("'cmnd' in docs and 'ho_chieu' not in docs", True),
        ("sorted(docs, key=len, reverse=True)[0]", "cmnd"),
        ("[d.upper() for d in docs if d.startswith('c')]", ["CMND"]),
        ("{k: v.lower() for k, v in info.items()}", {"ward": "ba dinh"}),
        ("sum(x ** 2 for x in range(4))", 14),
        ("max(docs, key=len) + str(min(3, 2))", "cmnd2"),
        ("any(d == 'don' for d in docs) and all(isinstance(d, str) for d in docs)", True),
        ("', '.join(docs) + '!'", "cmnd, don!"),
        ("f'{fee:,} VND for {len(docs)} docs'", "50,000 VND for 2 docs"),
        ("'%s/%03d' % ('HS', 7)", "HS/007"),
        ("str(docs)", "['cmnd', 'don']"),
        ("round(abs(-2.567), 1) + float('0.5') + int('2')", 5.1),
        ("info.get('missing', 'none')", "none"),
        ("(datetime.fromisoformat(received) + timedelta(hours=4)).isoformat()", "2025-01-03T12:00:00+07:00"),
        ("datetime.fromisoformat(received).weekday()", 4),
        ("add_working_days(received, 1).isoformat()", "2025-01-06T08:00:00+07:00"),
        ("now()", "2025-01-02T08:00:00+07:00"),
        ("tuple(zip(docs, range(2)))", (("cmnd", 0), ("don", 1))),
        ("list(reversed(docs)) * 2", ["don", "cmnd", "don", "cmnd"]),
    ],
)
def test_allowed_expressions_evaluate_to_the_right_value(env, expression, expected):
    assert check_expression(expression, helper_names=HELPERS) == []
    assert env.evaluate(expression, dict(DATA)) == expected


_LEAF = st.one_of(st.integers(-20, 20).map(str), st.sampled_from(["a", "b", "s"]))
_POWER = st.tuples(_LEAF, st.integers(0, 3)).map(lambda t: f"({t[0]} ** {t[1]})")
_EXPRESSIONS = st.recursive(
    st.one_of(_LEAF, _POWER),
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "//", "%", "<", "==", "and"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    ),
    max_leaves=10,
)


@given(_EXPRESSIONS)
def test_guarded_arithmetic_gives_the_same_result_as_python(expression):
    """The rewrite of + * ** % into guards must not change what Python computes."""
    data = {"a": 7, "b": -3, "s": "ab"}
    try:
        expected = eval(expression, {"__builtins__": {}}, dict(data))  # noqa: S307 - generated arithmetic
    except Exception as err:  # noqa: BLE001 - the same failure must happen in the safe environment
        with pytest.raises(type(err)):
            SafeEnvironment().evaluate(expression, dict(data))
        return
    try:
        assert SafeEnvironment().evaluate(expression, dict(data)) == expected
    except ExpressionError as err:  # only a size limit may make the results differ
        assert any(word in err.message for word in ("too large", "product above", "would build")), err


def test_allowed_builtins_are_the_documented_whitelist():
    expected = {"len", "range", "sorted", "isinstance", "datetime", "timedelta", "date", "timezone"}
    assert expected <= ALLOWED_BUILTINS
    assert not {"eval", "exec", "open", "getattr", "type", "__import__", "compile"} & ALLOWED_BUILTINS


# --------------------------------------------------------------------------------------------
# Refused constructs: at validation time and at run time
# --------------------------------------------------------------------------------------------

REFUSED = [
    ("__import__('os')", "eval", "name '__import__' is not allowed"),
    ("import os", "exec", "import is not allowed"),
    ("from os import path", "exec", "import is not allowed"),
    ("().__class__", "eval", "attribute '__class__' is not allowed"),
    ("docs._x", "eval", "attribute '_x' is not allowed"),
    ("_secret + 1", "eval", "name '_secret' is not allowed"),
    ("eval('1')", "eval", "name 'eval' is not allowed"),
    ("exec('x = 1')", "exec", "name 'exec' is not allowed"),
    ("compile('1', 'f', 'eval')", "eval", "name 'compile' is not allowed"),
    ("open('/etc/passwd').read()", "eval", "name 'open' is not allowed"),
    ("getattr(docs, 'append')", "eval", "name 'getattr' is not allowed"),
    ("setattr(docs, 'x', 1)", "eval", "name 'setattr' is not allowed"),
    ("globals()", "eval", "name 'globals' is not allowed"),
    ("vars()", "eval", "name 'vars' is not allowed"),
    ("locals()", "eval", "name 'locals' is not allowed"),
    ("type(docs)", "eval", "name 'type' is not allowed"),
    ("input()", "eval", "name 'input' is not allowed"),
    ("breakpoint()", "eval", "name 'breakpoint' is not allowed"),
    ("(lambda: 1)()", "eval", "lambda is not allowed"),
    ("def f():\n    return 1", "exec", "defining functions (def) is not allowed"),
    ("class C:\n    pass", "exec", "defining classes is not allowed"),
    ("while True:\n    pass", "exec", "while loops are not allowed"),
    ("global fee", "exec", "global is not allowed"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "exec", "Try is not allowed"),
    ("with docs:\n    pass", "exec", "With is not allowed"),
    ("docs.gi_frame", "eval", "attribute 'gi_frame' is not allowed"),
    ("'{0.__class__}'.format(1)", "eval", "attribute 'format' is not allowed"),
    ("datetime.now()", "eval", "datetime.now() is not allowed: use the now() helper"),
    ("date.today()", "eval", "date.today() is not allowed"),
    ("info.ward = 1", "exec", "assigning to attribute 'ward' is not allowed"),
    ("docs[0:0] = docs", "exec", "slice assignment is not allowed"),
    ("len = 3", "exec", "name 'len' is a builtin or helper and cannot be assigned"),
    ("now = 'x'", "exec", "name 'now' is a builtin or helper and cannot be assigned"),
    ("f'{fee:>{fee}}'", "eval", "computed format specifications are not allowed"),
    ("f'{fee:>999999999}'", "eval", "format width or precision above 100000 is not allowed"),
]


@pytest.mark.parametrize("source,mode,message", REFUSED, ids=[r[0][:30] for r in REFUSED])
def test_refused_at_validation_time(source, mode, message):
    problems = check_expression(source, mode=mode, helper_names=HELPERS)
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize("source,mode,message", REFUSED, ids=[r[0][:30] for r in REFUSED])
def test_refused_at_run_time(env, source, mode, message):
    data = dict(DATA)
    run = env.evaluate if mode == "eval" else env.execute
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(source, data)
    assert data == DATA  # a refused script changes nothing


def test_problems_name_line_and_column():
    assert check_expression("x = 1\ny = (\n") == ["line 1, column 3: syntax error: invalid syntax"]
    assert check_expression("x = 1\ny = (\n", mode="exec")[0].startswith("line 2, column 5: syntax error")
    assert check_expression("a = 1\nb = a.__dict__", mode="exec") == [
        "line 2, column 5: attribute '__dict__' is not allowed"
    ]
    assert check_expression("x == 1") == []
    assert check_expression(None) == ["expression must be text, not NoneType"]


@pytest.mark.parametrize(
    "escape",
    [
        "().__class__.__bases__[0].__subclasses__()",
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
        "(x for x in []).gi_frame.f_back.f_globals['__builtins__']",
        "now.__globals__['__builtins__']['open']",
        "str.mro()",
        "docs.__class__.__init__.__globals__",
    ],
)
def test_sandbox_escape_attempts_fail(env, escape):
    assert check_expression(escape, helper_names=HELPERS)
    with pytest.raises(ExpressionError, match="is not allowed"):
        env.evaluate(escape, dict(DATA))


@pytest.mark.parametrize(
    "source,message",
    [
        ("(x for x in docs).close()", "attribute 'close' is not allowed on generator"),
        ("now.keywords", "attribute 'keywords' is not allowed on function"),
        ("str.maketrans('a', 'b')", "attribute 'maketrans' is not allowed on SafeStr"),
        ("(1).to_bytes(2, 'big')", "attribute 'to_bytes' is not allowed on int"),
        ("[d for d in [datetime]][0].now()", "attribute 'now' is not allowed on datetime"),
    ],
)
def test_attributes_are_a_per_type_whitelist_at_run_time(env, source, message):
    assert check_expression(source, helper_names=HELPERS) == []  # not visible without running
    with pytest.raises(ExpressionError, match=message):
        env.evaluate(source, dict(DATA))


@pytest.mark.parametrize("name", ["os", "sys", "io", "socket", "subprocess", "builtins", "pathlib"])
def test_files_and_network_are_unreachable(env, name):
    """No import, no open/__import__/getattr and no modules in the namespace: a module name is
    just an undefined variable, so nothing can reach the file system or the network."""
    with pytest.raises(NameError, match=f"name '{name}' is not defined"):
        env.evaluate(f"{name}.path", {})
    assert not any(type(v).__name__ == "module" for v in env.globals.values())
    assert set(env.globals) == ALLOWED_BUILTINS | set(HELPERS)


# --------------------------------------------------------------------------------------------
# Runaway work is refused quickly
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source,mode,message",
    [
        ("'x' * 10**9", "eval", r"repetition \(\*\) would build 1000000000"),
        ("[0] * 10**9", "eval", "repetition"),
        ("2 ** 10**9", "eval", "2 \\*\\* 1000000000 is too large"),
        ("1 << 10**9", "eval", "is too large"),
        ("10**2000 * 10**2000", "eval", "product above 8192 bits"),
        ("10**3000", "eval", "10 \\*\\* 3000 is too large"),
        ("list(range(10**9))", "eval", "range of more than 10000 items is not allowed"),
        ("range(10**30)", "eval", "range of more than"),
        ("[1 for a in range(10000) for b in range(10000)]", "eval", "exceeded 200000 operations"),
        ("sum(1 for a in range(10000) for b in range(10000))", "eval", "exceeded 200000 operations"),
        ("[x for x in big]", "eval", f"loop exceeded {MAX_LOOP_ITEMS} iterations"),
        ("for x in docs:\n    docs.append(x)", "exec", f"loop exceeded {MAX_LOOP_ITEMS} iterations"),
        ("s = 'ab' * 1000\nfor i in range(40):\n    s = s + s", "exec", r"concatenation \(\+\)"),
        ("s = ['x'] * 1000\nfor i in range(40):\n    s += s", "exec", "extend|loop exceeded"),
        ("s = [1]\nfor i in range(40):\n    s = [*s, *s]", "exec", "loop exceeded|operations"),
        ("s = 'ab' * 1000\nfor i in range(40):\n    s = f'{s}{s}'", "exec", "text longer than|operations"),
        ("'-'.join(['x' * 50000] * 3)", "eval", r"join\(\) would build"),
        ("('x' * 10000).replace('x', 'y' * 1000)", "eval", r"replace\(\) would build"),
        ("'x'.ljust(10**9)", "eval", r"ljust\(\) would build"),
        ("'%999999999d' % 1", "eval", "% format width or precision above"),
        ("'%*d' % (10**9, 1)", "eval", "% format width or precision above"),
        ("str([['x' * 100] * 10000] * 10000)", "eval", "text longer than 100000 characters"),
        ("sum([[1] * 10000] * 10000, [])", "eval", "sum\\(\\) adds numbers"),
    ],
)
def test_runaway_work_is_refused_quickly(env, source, mode, message):
    data = dict(DATA, big=list(range(MAX_LOOP_ITEMS + 1)), docs=["a"])
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=message):
        (env.evaluate if mode == "eval" else env.execute)(source, data)
    assert time.perf_counter() - started < 1.0


def test_a_loop_up_to_the_limit_is_fine(env):
    data = {"items": list(range(MAX_LOOP_ITEMS))}
    env.execute("total = 0\nfor x in items:\n    total += x", data)
    assert data["total"] == sum(range(MAX_LOOP_ITEMS))


# --------------------------------------------------------------------------------------------
# SpiffWorkflow's environment contract
# --------------------------------------------------------------------------------------------


def test_execute_writes_new_variables_and_drops_callables(env):
    data = {"docs": ["a", "b"], "old": 1}
    env.execute(
        "count = len(docs)\nf = len\ndocs.append('c')\ndel old\ndue = add_working_days("
        "'2025-01-03T08:00:00+07:00', 1).isoformat()",
        data,
    )
    assert data == {"docs": ["a", "b", "c"], "count": 2, "due": "2025-01-06T08:00:00+07:00"}


def test_data_shadowing_a_helper_is_kept_and_the_helper_wins(env):
    """SpiffWorkflow raises ValueError here; we keep the data and let helpers/builtins win."""
    data = {"now": "a form field", "len": 3}
    assert env.evaluate("now()", data) == "2025-01-02T08:00:00+07:00"
    env.execute("n = len('ab')\nstamp = now()", data)
    assert data == {"now": "a form field", "len": 3, "n": 2, "stamp": "2025-01-02T08:00:00+07:00"}


def test_external_context_is_visible_and_task_data_wins(env):
    assert env.evaluate("a + b", {"a": 1}, {"a": 100, "b": 2}) == 3
    data = {}
    env.execute("c = b * 2", data, {"b": 2})
    assert data == {"c": 4}


def test_helper_names_must_be_public_and_new():
    for bad in ({"_x": len}, {"len": len}, {"open": open}, {"not-id": len}):
        with pytest.raises(ValueError, match="helper names"):
            SafeEnvironment(bad)


def test_compiled_code_is_cached(env):
    from engine.bpmn.script_env import _compile

    before = _compile.cache_info().hits
    for _ in range(3):
        env.evaluate("fee + 1 > 0", {"fee": 1})
    assert _compile.cache_info().hits >= before + 2


# --------------------------------------------------------------------------------------------
# A real SpiffWorkflow run
# --------------------------------------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="safe_env" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score_it"/>
    <bpmn:scriptTask id="score_it">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>missing = [d for d in ("cmnd", "don") if d not in docs]
score = sum(len(d) for d in docs)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="score_it" targetRef="complete_enough"/>
    <bpmn:exclusiveGateway id="complete_enough" default="f_more">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_ok</bpmn:outgoing><bpmn:outgoing>f_more</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_ok" sourceRef="complete_enough" targetRef="review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">not missing and score &gt;= 7</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_more" sourceRef="complete_enough" targetRef="ask_more"/>
    <bpmn:userTask id="review">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>group = "chuyen_vien"</spiffworkflow:preScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f_ok</bpmn:incoming><bpmn:outgoing>f_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="overdue" attachedToRef="review">
      <bpmn:outgoing>f_late</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">add_working_days(received, 2).isoformat()</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="overdue" targetRef="end_late"/>
    <bpmn:endEvent id="end_late"><bpmn:incoming>f_late</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_done" sourceRef="review" targetRef="end_done"/>
    <bpmn:endEvent id="end_done"><bpmn:incoming>f_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="ask_more"><bpmn:incoming>f_more</bpmn:incoming><bpmn:outgoing>f_m</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f_m" sourceRef="ask_more" targetRef="end_more"/>
    <bpmn:endEvent id="end_more"><bpmn:incoming>f_m</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def start_workflow(data: dict, script_engine=None, bpmn: str = BPMN) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn.encode())
    safe = SafeEnvironment({"add_working_days": add_working_days})
    engine = script_engine or PythonScriptEngine(environment=safe)
    workflow = BpmnWorkflow(parser.get_spec("safe_env"), parser.get_subprocess_specs("safe_env"), script_engine=engine)
    workflow.task_tree.data.update(data)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    return workflow


def ready_ids(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def test_gateway_routes_on_data_computed_by_the_script_task():
    complete = start_workflow({"docs": ["cmnd", "don"], "received": "2030-01-03T08:00:00+07:00"})
    incomplete = start_workflow({"docs": ["cmnd"], "received": "2030-01-03T08:00:00+07:00"})

    assert ready_ids(complete) == ["review"]
    assert ready_ids(incomplete) == ["ask_more"]
    review = complete.get_next_task(state=TaskState.READY, manual=True)
    assert review.data["missing"] == [] and review.data["score"] == 7
    assert review.data["group"] == "chuyen_vien"  # spiffworkflow:preScript ran in the safe environment


def test_timer_date_from_a_helper_is_armed_with_its_iso_value():
    workflow = start_workflow({"docs": ["cmnd", "don"], "received": "2030-01-04T08:00:00+07:00"})  # a Friday
    [event] = workflow.waiting_events()
    assert event.event_type == "TimeDateEventDefinition"
    assert event.value == "2030-01-08T08:00:00+07:00"  # two working days later, over the weekend


def test_timer_from_a_helper_fires_when_due():
    workflow = start_workflow({"docs": ["cmnd", "don"], "received": "2020-01-03T08:00:00+07:00"})
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert "end_late" in [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)]


def test_refused_condition_fails_the_step_with_the_reason():
    bpmn = BPMN.replace("not missing and score &gt;= 7", "().__class__.__bases__")
    with pytest.raises(WorkflowTaskException) as info:
        start_workflow(
            {"docs": ["cmnd", "don"], "received": "2030-01-03T08:00:00+07:00"},
            make_script_engine({"add_working_days": add_working_days}),
            bpmn,
        )
    assert "attribute '__bases__' is not allowed" in str(info.value)
    assert info.value.error_type == "ExpressionError"


def test_refused_script_names_its_line():
    bpmn = BPMN.replace("score = sum(len(d) for d in docs)", "score = 1\nimport os")
    with pytest.raises(WorkflowTaskException) as info:
        start_workflow({"docs": ["cmnd"], "received": "2030-01-03T08:00:00+07:00"}, bpmn=bpmn)
    assert "line 3, column 1: import is not allowed" in str(info.value)
    assert info.value.task.task_spec.bpmn_id == "score_it"
