"""The restricted Python that template expressions (conditions, scripts, timers) run in.

Templates are written by semi-trusted IT staff, so SpiffWorkflow's plain ``eval``/``exec`` on task
data is replaced by :class:`SafeEnvironment`, a drop-in for ``TaskDataEnvironment``.

Design: our own AST whitelist plus rewriting, not RestrictedPython. RestrictedPython's transformer
refuses only underscore names and a list of frame/code attributes, accepts ``while``, ``def``,
``lambda``, ``class``, ``try`` and ``import`` syntax, and does not guard arithmetic, so a policy for
our rules would override most of it and still report its own generic messages. Here, in one pass:

* ``check_expression`` parses the source and walks it with a whitelist of node types; anything
  else (import, def, lambda, class, while, try, with, global, ...) is refused with line and column,
  as are names and attributes starting with ``_``, dangerous builtins (``eval``, ``open``,
  ``getattr``, ``type``, ...), frame/code attributes, ``str.format`` and the wall clock
  (``datetime.now()``: templates use the ``now()`` helper, which reads the dossier clock).
* The checked tree is rewritten so that every attribute read goes through a per-type whitelist
  (``str``, ``list``, ``dict``, ``datetime``, ...; anything else, e.g. a generator, has no
  attributes), every loop and ``*``-unpacking goes through a counter (10,000 items per loop,
  MAX_OPERATIONS per evaluation), and ``+ * ** << %`` and f-string fields check the size of what
  they would build *before* building it. ``range`` is bounded and ``str`` cannot render huge
  containers. Files, network and processes are unreachable: there is no import, no ``open``
  and no attribute path from the exposed objects to modules or frames.
* The globals hold only ALLOWED_BUILTINS and the caller's helpers, and ``__builtins__`` is empty.

Left to the worker: C-level work on aliased data (comparing two lists that repeat the same
10,000-item list 10,000 times) is not metered; run steps under a process time/memory limit.

Compiled code is cached by source text; a condition without loops, attributes or arithmetic pays
only the namespace merge that SpiffWorkflow's own environment pays. Refusals raise
ExpressionError; SpiffWorkflow wraps it in WorkflowTaskException with the element.

Why this module is over our 400-line limit: the whitelist tables, the checker and the runtime
guards are one policy; split across files, a reviewer would see only half of it.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import threading
import time as _time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn import bounds
from engine.bpmn.serializer import reserved_key_path
from engine.domain.errors import ExpressionError

MAX_LOOP_ITEMS = 10_000  # per loop, comprehension or unpacking
MAX_OPERATIONS = 200_000  # per evaluation: loop items plus items/characters built by + * join ...
MAX_SIZE = 100_000  # longest str/list/tuple one operation may build
MAX_INT_BITS = 8_192  # about 2,466 decimal digits
#: Wall-clock seconds one evaluation may run, and one step (all its evaluations) together; checked
#: at every metered operation, so Python-level work stops within one operation of the limit.
MAX_SECONDS = float(os.environ.get("MOTCUA_SCRIPT_SECONDS", "1"))
MAX_STEP_SECONDS = float(os.environ.get("MOTCUA_STEP_SECONDS", "5"))

# --------------------------------------------------------------------------------------------
# What the code may see
# --------------------------------------------------------------------------------------------


class _StrType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, str)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, str)


class SafeStr(metaclass=_StrType):
    """``str`` for templates: refuses to render containers larger than MAX_SIZE characters."""

    def __new__(cls, obj="", *args):
        _check_text_size(obj)
        return str(obj, *args)


def _bounded_range(*args) -> range:
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_LOOP_ITEMS + 1
    if n > MAX_LOOP_ITEMS:
        raise ExpressionError(f"range of more than {MAX_LOOP_ITEMS} items is not allowed")
    return r


def _sum(iterable, start=0):
    if not isinstance(start, (int, float, timedelta)):
        raise ExpressionError("sum() adds numbers or timedeltas only")
    return sum(iterable, start)


def _discard(*args, **kwargs) -> None:
    """print() is accepted (real models use it) and prints nothing."""


_BASE: dict[str, object] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": _sum,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": SafeStr,
    "bool": bool,
    "list": list,
    "dict": dict,
    "set": set,
    "tuple": tuple,
    "sorted": sorted,
    "reversed": reversed,
    "any": any,
    "all": all,
    "range": _bounded_range,
    "enumerate": enumerate,
    "zip": zip,
    "isinstance": isinstance,
    "print": _discard,
    "datetime": datetime,
    "timedelta": timedelta,
    "date": date,
    "timezone": timezone,
}
#: Every name the environment provides besides the helpers (True/False/None are keywords).
ALLOWED_BUILTINS: frozenset[str] = frozenset(_BASE)

REFUSED_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "globals",
        "vars",
        "locals",
        "type",
        "input",
        "breakpoint",
        "dir",
        "help",
        "object",
        "super",
        "memoryview",
        "classmethod",
        "staticmethod",
        "property",
        "id",
        "iter",
        "next",
        "exit",
        "quit",
    }
)
_INSPECT_ATTRIBUTES = frozenset(
    {
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "f_trace",
        "tb_frame",
        "tb_next",
        "co_code",
        "mro",
        "format",
        "format_map",
    }
)
_CLOCK_READS = frozenset({"now", "today", "utcnow"})

_STR_ATTRS = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "join",
        "replace",
        "ljust",
        "rjust",
        "center",
        "zfill",
    }
)
_NUMBER_ATTRS = frozenset({"real", "imag", "conjugate", "bit_length", "is_integer", "numerator", "denominator"})
_DATE_ATTRS = frozenset(
    {"year", "month", "day", "replace", "isoformat", "weekday", "isoweekday", "isocalendar", "strftime", "toordinal"}
)
_DATETIME_ATTRS = _DATE_ATTRS | {
    "hour",
    "minute",
    "second",
    "microsecond",
    "tzinfo",
    "fold",
    "date",
    "time",
    "astimezone",
    "timestamp",
    "utcoffset",
    "tzname",
}
_INSTANCE_ATTRS: dict[type, frozenset[str]] = {
    str: _STR_ATTRS,
    bool: _NUMBER_ATTRS,
    int: _NUMBER_ATTRS,
    float: _NUMBER_ATTRS,
    list: frozenset(
        {"append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"}
    ),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"}),
    set: frozenset(
        {
            "add",
            "clear",
            "copy",
            "difference",
            "discard",
            "intersection",
            "isdisjoint",
            "issubset",
            "issuperset",
            "pop",
            "remove",
            "symmetric_difference",
            "union",
            "update",
            "difference_update",
            "intersection_update",
        }
    ),
    frozenset: frozenset(
        {"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset", "symmetric_difference", "union"}
    ),
    datetime: _DATETIME_ATTRS,
    date: _DATE_ATTRS,
    timedelta: frozenset({"days", "seconds", "microseconds", "total_seconds"}),
    timezone: frozenset({"utcoffset", "tzname", "dst"}),
    time: frozenset({"hour", "minute", "second", "microsecond", "tzinfo", "isoformat", "replace", "strftime"}),
    type(date(2000, 1, 1).isocalendar()): frozenset({"year", "week", "weekday", "count", "index"}),
}
_CLASS_ATTRS: dict[type, frozenset[str]] = {
    datetime: frozenset({"fromisoformat", "strptime", "combine", "min", "max", "fromtimestamp"}),
    date: frozenset({"fromisoformat", "fromordinal", "min", "max"}),
    timedelta: frozenset({"min", "max", "resolution"}),
    timezone: frozenset({"utc"}),
}


@functools.lru_cache(maxsize=256)
def _attrs_of_type(cls: type) -> tuple[type | None, frozenset[str]]:
    """(the whitelisted base class, its readable attributes) for instances of cls."""
    for base in cls.__mro__:
        if base in _INSTANCE_ATTRS:
            return base, _INSTANCE_ATTRS[base]
    return None, frozenset()


# --------------------------------------------------------------------------------------------
# Validation: a whitelist of syntax
# --------------------------------------------------------------------------------------------

_ALLOWED_NODES = (
    ast.Module,
    ast.Expression,
    ast.Assign,
    ast.AugAssign,
    ast.For,
    ast.If,
    ast.Expr,
    ast.Pass,
    ast.Break,
    ast.Continue,
    ast.Delete,
    ast.Assert,
    ast.BoolOp,
    ast.NamedExpr,
    ast.BinOp,
    ast.UnaryOp,
    ast.IfExp,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Compare,
    ast.Call,
    ast.FormattedValue,
    ast.JoinedStr,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Starred,
    ast.Name,
    ast.List,
    ast.Tuple,
    ast.Slice,
    ast.comprehension,
    ast.keyword,
    ast.expr_context,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)
_REFUSED_NODES = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.FunctionDef: "defining functions (def) is not allowed",
    ast.AsyncFunctionDef: "defining functions (def) is not allowed",
    ast.ClassDef: "defining classes is not allowed",
    ast.While: "while loops are not allowed; loop with for over a list or a bounded range",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
}
_FORMAT_NUMBER = re.compile(r"\d+")
_PERCENT_DIRECTIVE = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")


class _Checker(ast.NodeVisitor):
    def __init__(self):
        self.problems: list[tuple[int, int, str]] = []
        self.assigned: set[str] = set()

    def refuse(self, node: ast.AST, message: str) -> None:
        self.problems.append((getattr(node, "lineno", 1), getattr(node, "col_offset", 0), message))

    def generic_visit(self, node):
        if type(node) in _REFUSED_NODES:
            return self.refuse(node, _REFUSED_NODES[type(node)])
        if not isinstance(node, _ALLOWED_NODES):
            return self.refuse(node, f"{type(node).__name__} is not allowed")
        super().generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if node.id.startswith("_") or node.id in REFUSED_NAMES:
            self.refuse(node, f"name '{node.id}' is not allowed")
        elif not isinstance(node.ctx, ast.Load):
            self.assigned.add(node.id)

    def visit_Attribute(self, node: ast.Attribute):
        if node.attr.startswith("_") or node.attr in _INSPECT_ATTRIBUTES:
            self.refuse(node, f"attribute '{node.attr}' is not allowed")
        elif not isinstance(node.ctx, ast.Load):
            self.refuse(node, f"assigning to attribute '{node.attr}' is not allowed")
        elif node.attr in _CLOCK_READS and isinstance(node.value, ast.Name) and node.value.id in ("datetime", "date"):
            self.refuse(
                node,
                f"{node.value.id}.{node.attr}() is not allowed: use the now() helper, which reads the dossier clock",
            )
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript):
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
            self.refuse(node, "slice assignment is not allowed")
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue):
        spec = node.format_spec
        if spec is not None:
            if not all(isinstance(v, ast.Constant) for v in spec.values):
                self.refuse(node, "computed format specifications are not allowed")
            elif any(int(n) > MAX_SIZE for v in spec.values for n in _FORMAT_NUMBER.findall(v.value)):
                self.refuse(node, f"format width or precision above {MAX_SIZE} is not allowed")
        self.visit(node.value)


def _problem_text(line: int, col: int, message: str) -> str:
    return f"line {line}, column {col + 1}: {message}"


# --------------------------------------------------------------------------------------------
# Rewriting: route risky operations through the runtime guards
# --------------------------------------------------------------------------------------------

_BINOP_GUARDS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}
_INPLACE_GUARDS = {**_BINOP_GUARDS, ast.Add: "_iadd_", ast.Mult: "_imul_"}


def _call(guard: str, *args: ast.expr, like: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(ast.Name(guard, ast.Load()), list(args), []), like)


class _Rewriter(ast.NodeTransformer):
    def __init__(self):
        self.guarded = False

    def guard(self, name: str, *args: ast.expr, like: ast.AST) -> ast.Call:
        self.guarded = True
        return _call(name, *args, like=like)

    def visit_Attribute(self, node: ast.Attribute):
        self.generic_visit(node)
        return self.guard("_getattr_", node.value, ast.Constant(node.attr), like=node)

    def visit_BinOp(self, node: ast.BinOp):
        self.generic_visit(node)
        name = _BINOP_GUARDS.get(type(node.op))
        return self.guard(name, node.left, node.right, like=node) if name else node

    def visit_AugAssign(self, node: ast.AugAssign):
        self.generic_visit(node)
        name = _INPLACE_GUARDS.get(type(node.op))
        if name is None:
            return node
        target_load = ast.copy_location(type(node.target)(**{**vars(node.target), "ctx": ast.Load()}), node.target)
        value = self.guard(name, target_load, node.value, like=node)
        return ast.copy_location(ast.Assign([node.target], value), node)

    def visit_For(self, node: ast.For):
        self.generic_visit(node)
        node.iter = self.guard("_iter_", node.iter, like=node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension):
        self.generic_visit(node)
        node.iter = self.guard("_iter_", node.iter, like=node.iter)
        return node

    def visit_Starred(self, node: ast.Starred):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = self.guard("_iter_", node.value, like=node.value)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue):
        self.generic_visit(node)
        node.value = self.guard("_text_", node.value, ast.Constant(_format_width(node)), like=node.value)
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _COPYING_BUILTINS:
            return self.guard("_built_", node, like=node)
        return node


#: Builtins that build a new container as large as their input: the result is charged.
_COPYING_BUILTINS = frozenset({"sorted", "list", "tuple", "set", "dict"})


def _format_width(node: ast.FormattedValue) -> int:
    """The widest width or precision an f-string field asks for (the checker made them constants)."""
    if node.format_spec is None:
        return 0
    numbers = [int(n) for v in node.format_spec.values for n in _FORMAT_NUMBER.findall(v.value)]
    return max(numbers, default=0)


@dataclass(frozen=True)
class _Compiled:
    code: object | None
    problems: tuple[str, ...]
    assigned: frozenset[str]
    guarded: bool


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> _Compiled:
    try:
        tree = ast.parse(source, "<string>", mode)
    except SyntaxError as err:
        problem = _problem_text(err.lineno or 1, (err.offset or 1) - 1, f"syntax error: {err.msg}")
        return _Compiled(None, (problem,), frozenset(), False)
    checker = _Checker()
    checker.visit(tree)
    if checker.problems:
        problems = tuple(_problem_text(*p) for p in sorted(checker.problems))
        return _Compiled(None, problems, frozenset(checker.assigned), False)
    rewriter = _Rewriter()
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    # "<string>" keeps SpiffWorkflow's script line-number reporting working.
    return _Compiled(compile(tree, "<string>", mode), (), frozenset(checker.assigned), rewriter.guarded)


def _reserved_problems(compiled: _Compiled, reserved: Iterable[str]) -> list[str]:
    clash = sorted(compiled.assigned.intersection(reserved))
    return [f"name '{n}' is a builtin or helper and cannot be assigned" for n in clash]


def check_expression(source: str, *, mode: str = "eval", helper_names: Iterable[str] = ()) -> list[str]:
    """Check template code without running it.

    Args:
        source: the expression (``mode="eval"``: conditions, timers) or script (``mode="exec"``).
        helper_names: names the caller will inject; scripts may not assign them.

    Returns:
        [] when the code is allowed, else human-readable problems with line and column.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        return [f"expression must be text, not {type(source).__name__}"]
    compiled = _compile(source, mode)
    return list(compiled.problems) + _reserved_problems(compiled, ALLOWED_BUILTINS | set(helper_names))


# --------------------------------------------------------------------------------------------
# Runtime guards (one _Meter per evaluation)
# --------------------------------------------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIXED_SIZE = (tuple, str, bytes, range, dict, set, frozenset)


def _check_text_size(obj) -> int:
    """Refuse before rendering a container whose text would pass MAX_SIZE (walks at most that far);
    returns about how many characters the text will have."""
    if type(obj) in _SCALARS:
        if isinstance(obj, str) and len(obj) > MAX_SIZE:
            raise ExpressionError(f"text longer than {MAX_SIZE} characters is not allowed")
        return len(obj) if isinstance(obj, str) else 24
    size, stack = 0, [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 4
        elif isinstance(item, (list, tuple, set, frozenset)):
            size += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            size += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            size += item.bit_length() // 3 + 2 if isinstance(item, int) else 48
        if size > MAX_SIZE:
            raise ExpressionError(f"text longer than {MAX_SIZE} characters is not allowed")
    return size


_step = threading.local()


class step_time_limit:
    """Bound every evaluation run inside (one step of a dossier: its conditions, scripts and
    timers together) to `seconds` of wall-clock time, MAX_STEP_SECONDS by default. A class, not
    a generator: it wraps every operation on a workflow, and contextlib's wrapper costs more."""

    __slots__ = ("seconds", "outer")

    def __init__(self, seconds: float | None = None):
        self.seconds = MAX_STEP_SECONDS if seconds is None else seconds

    def __enter__(self) -> None:
        self.outer = outer = getattr(_step, "deadline", None)
        deadline = _time.monotonic() + self.seconds
        _step.deadline = deadline if outer is None else min(outer, deadline)

    def __exit__(self, *exc) -> None:
        _step.deadline = self.outer


class _Meter:
    """The budget of one evaluation and the guards the rewritten code calls: operations (loop
    items and items or characters built), and a wall-clock deadline checked with each charge."""

    __slots__ = ("operations", "deadline", "step_deadline")

    def __init__(self):
        self.operations = 0
        self.deadline = _time.monotonic() + MAX_SECONDS
        self.step_deadline = getattr(_step, "deadline", None)

    def charge(self, n: int) -> None:
        self.operations += n
        if self.operations > MAX_OPERATIONS:
            raise ExpressionError("evaluation exceeded %(limit)s operations", limit=MAX_OPERATIONS)
        now = _time.monotonic()
        if now > self.deadline:
            raise ExpressionError("evaluation ran longer than %(seconds)s s", seconds=MAX_SECONDS)
        if self.step_deadline is not None and now > self.step_deadline:
            raise ExpressionError(
                "the step's expressions ran longer than %(seconds)s s together", seconds=MAX_STEP_SECONDS
            )

    def namespace(self) -> dict[str, Callable]:
        return {
            "_getattr_": self.getattr_,
            "_iter_": self.iter_,
            "_add_": self.add,
            "_mul_": self.mul,
            "_iadd_": self.iadd,
            "_imul_": self.imul,
            "_pow_": _pow,
            "_lshift_": _lshift,
            "_mod_": self.mod,
            "_text_": self.text,
            "_built_": self.built,
        }

    def text(self, value, width: int = 0):
        """An f-string field: what it renders (its text or its padded width) is charged."""
        self.charge(max(_check_text_size(value), width))
        return value

    def built(self, container):
        """The result of sorted(), list(), dict() ...: a copy as large as its input, charged."""
        self.charge(len(container))
        return container

    def mod(self, a, b):
        if isinstance(a, (str, bytes)):
            widths = _percent_widths(a if isinstance(a, str) else a.decode("latin-1"))
            self.charge(len(a) + sum(widths) + _check_text_size(b))
        return a % b

    def iter_(self, obj):
        if isinstance(obj, _FIXED_SIZE):
            if len(obj) > MAX_LOOP_ITEMS:
                raise ExpressionError(f"loop exceeded {MAX_LOOP_ITEMS} iterations")
            self.charge(len(obj))
            return self._timed(iter(obj))
        return self._counted(iter(obj))

    def _timed(self, iterator):
        """Items already charged, but the body may be slow: the deadline is checked per item."""
        for item in iterator:
            self.charge(0)
            yield item

    def _counted(self, iterator):
        for n, item in enumerate(iterator, 1):
            if n > MAX_LOOP_ITEMS:
                raise ExpressionError(f"loop exceeded {MAX_LOOP_ITEMS} iterations")
            self.charge(1)
            yield item

    def getattr_(self, obj, name: str):
        if isinstance(obj, type):
            base, allowed, owner = obj, _CLASS_ATTRS.get(obj, frozenset()), obj.__name__
        else:
            (base, allowed), owner = _attrs_of_type(type(obj)), type(obj).__name__
        if name not in allowed:
            raise ExpressionError(f"attribute '{name}' is not allowed on {owner}")
        if (base, name) in _COPYING_METHODS:
            self.charge(len(obj))  # upper(), split(), copy() ... build a copy of obj
        guard = _METHOD_GUARDS.get((base, name))
        return guard(self, obj) if guard else getattr(obj, name)

    def _sized(self, n: int, what: str) -> None:
        if n > MAX_SIZE:
            raise ExpressionError(f"{what} would build {n} items or characters (limit {MAX_SIZE})")
        self.charge(n)

    def add(self, a, b):
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self._sized(len(a) + len(b), "concatenation (+)")
        return a + b

    def mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            if a.bit_length() + b.bit_length() > MAX_INT_BITS:
                raise ExpressionError(f"a product above {MAX_INT_BITS} bits is not allowed")
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            self._sized(len(a) * max(b, 0), "repetition (*)")
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            self._sized(len(b) * max(a, 0), "repetition (*)")
        return a * b

    def iadd(self, a, b):
        if isinstance(a, list):
            _extend(self, a)(b)
            return a
        return self.add(a, b)

    def imul(self, a, b):
        result = self.mul(a, b)  # checks the size, then builds a new list
        if isinstance(a, list):
            a[:] = result
            return a
        return result


def _pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if a.bit_length() * b > MAX_INT_BITS:
            raise ExpressionError(f"{a} ** {b} is too large (limit {MAX_INT_BITS} bits)")
    return a**b


def _lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > MAX_INT_BITS:
        raise ExpressionError(f"{a} << {b} is too large (limit {MAX_INT_BITS} bits)")
    return a << b


def _percent_widths(text: str) -> list[int]:
    """The widths and precisions of a %-format, each refused above MAX_SIZE."""
    widths = []
    for width, precision in _PERCENT_DIRECTIVE.findall(text):
        if "*" in (width, precision) or int(width or 0) > MAX_SIZE or int(precision or 0) > MAX_SIZE:
            raise ExpressionError(f"% format width or precision above {MAX_SIZE} is not allowed")
        widths.append(max(int(width or 0), int(precision or 0)))
    return widths


def _join(meter: _Meter, sep: str):
    def join(iterable):
        items = list(meter.iter_(iterable))
        meter._sized(
            sum(len(i) if isinstance(i, str) else 0 for i in items) + len(sep) * max(len(items) - 1, 0), "join()"
        )
        return sep.join(items)

    return join


def _replace(meter: _Meter, text: str):
    def replace(old, new, count=-1):
        hits = text.count(old) if count < 0 else min(count, text.count(old))
        meter._sized(len(text) + hits * max(len(new) - len(old), 0), "replace()")
        return text.replace(old, new, count)

    return replace


def _padding(method: str):
    def bind(meter: _Meter, text: str):
        def pad(width, *args):
            meter._sized(max(width, len(text)) if isinstance(width, int) else 0, f"{method}()")
            return getattr(text, method)(width, *args)

        return pad

    return bind


def _extend(meter: _Meter, items: list):
    def extend(iterable):
        new = list(meter.iter_(iterable))
        meter._sized(len(items) + len(new), "extend()")
        items.extend(new)

    return extend


_COPYING_METHODS = frozenset(
    {
        (str, m)
        for m in (
            "capitalize",
            "casefold",
            "lower",
            "upper",
            "swapcase",
            "title",
            "strip",
            "lstrip",
            "rstrip",
            "split",
            "rsplit",
            "splitlines",
            "partition",
            "rpartition",
        )
    }
    | {(t, "copy") for t in (list, dict, set, frozenset)}
    | {(t, m) for t in (set, frozenset) for m in ("union", "difference", "symmetric_difference")}
)
_METHOD_GUARDS = {
    (str, "join"): _join,
    (str, "replace"): _replace,
    (list, "extend"): _extend,
    **{(str, m): _padding(m) for m in ("ljust", "rjust", "center", "zfill")},
}
_GUARD_NAMES = frozenset(_Meter().namespace())


# --------------------------------------------------------------------------------------------
# The environment
# --------------------------------------------------------------------------------------------


class SafeEnvironment(TaskDataEnvironment):
    """Drop-in for SpiffWorkflow's TaskDataEnvironment that runs template code restricted.

    Names resolve in this order: builtins and helpers, then task data, then ``external_context``
    (SpiffWorkflow's data objects). Task data named like a helper or builtin keeps its value in
    ``task.data`` but is hidden by the helper inside expressions, and scripts may not assign such
    names (SpiffWorkflow would raise ValueError instead). After a script, new and changed
    variables are written back to ``task.data``; callables are dropped, as SpiffWorkflow does.
    """

    def __init__(self, helpers: Mapping[str, Callable] | None = None):
        helpers = dict(helpers or {})
        bad = sorted(
            n for n in helpers if not n.isidentifier() or n.startswith("_") or n in _BASE or n in REFUSED_NAMES
        )
        if bad:
            raise ValueError(f"helper names must be public identifiers not already provided: {bad}")
        super().__init__({**_BASE, **helpers})
        self.helper_names = frozenset(helpers)
        self._reserved = frozenset(self.globals) | _GUARD_NAMES | {"__builtins__"}

    def _prepare(self, source, mode: str, context, external_context) -> tuple[object, dict]:
        if not isinstance(source, str):
            raise ExpressionError(f"expression must be text, not {type(source).__name__}")
        compiled = _compile(source, mode)
        problems = list(compiled.problems) or _reserved_problems(compiled, self.globals)
        if problems:
            raise ExpressionError("; ".join(problems))
        namespace = {**external_context} if external_context else {}
        namespace.update(context)
        namespace.update(self.globals)
        namespace["__builtins__"] = {}
        if compiled.guarded:
            namespace.update(_Meter().namespace())
        return compiled.code, namespace

    def evaluate(self, expression, context, external_context=None):
        code, namespace = self._prepare(expression, "eval", context, external_context)
        return eval(code, namespace)  # noqa: S307 - checked and rewritten code, restricted globals

    def execute(self, script, context, external_context=None):
        code, namespace = self._prepare(script, "exec", context, external_context)
        try:
            exec(code, namespace)  # noqa: S102 - checked and rewritten code, restricted globals
        finally:
            self._write_back(namespace, context, external_context or {})
        path = reserved_key_path(context)
        if path is not None:  # stored, the dossier's state could not be loaded again
            raise ExpressionError(
                "the script wrote '%(path)s': '%(key)s' is a name the engine reserves",
                path=path,
                key=path.rsplit(".", 1)[-1],
            )
        return True

    def _write_back(self, namespace: dict, context: dict, external_context: Mapping) -> None:
        for key in [k for k in context if k not in namespace and k not in self._reserved]:
            del context[key]  # the script ran `del key`
        for key, value in namespace.items():
            if key in self._reserved or callable(value):
                continue
            if key in external_context and key not in context and value is external_context[key]:
                continue
            context[key] = value


class _ScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose expression errors also say why (SpiffWorkflow drops the cause),
    and whose timer values keep the bounds publishing checks on literal ones."""

    def evaluate(self, task, expression, external_context=None):
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {err}", task=task, exception=err
            ) from err
        _refuse_unbounded_timer(task, expression, value)
        return value


_TIMER_TAGS = (
    (TimeDateEventDefinition, "timeDate"),
    (DurationTimerEventDefinition, "timeDuration"),
    (CycleTimerEventDefinition, "timeCycle"),
)


def _refuse_unbounded_timer(task, expression, value) -> None:
    """A timer whose value comes from data ('P99999999Y', 'R999999/PT1S') would make SpiffWorkflow
    walk millions of months or fire every second: refused like the same literal at publish."""
    definition = getattr(task.task_spec, "event_definition", None)
    if getattr(definition, "expression", None) != expression:
        return
    tag = next((tag for kind, tag in _TIMER_TAGS if isinstance(definition, kind)), None)
    problem = bounds.timer_value_problem(tag, value) if tag else None
    if problem is not None:
        raise ExpressionError("the timer's value %(value)s %(problem)s", value=repr(value)[:80], problem=problem)


#: What runs a template's code, for the layers that may not import SpiffWorkflow.
ScriptEngine = PythonScriptEngine


def make_script_engine(helpers: Mapping[str, Callable] | None = None) -> PythonScriptEngine:
    """A script engine running template code in a SafeEnvironment with these helpers."""
    return _ScriptEngine(environment=SafeEnvironment(helpers))
