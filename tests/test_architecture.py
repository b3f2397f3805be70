"""The house rules of docs/architecture.md, read from the imports of every module.

Each rule is an allowlist: what a part of the code may import. A failure names the module and
the import that broke the rule."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "configurator", "web")
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (a module, or module.name for `from m import name`)
    names: tuple[str, ...]  # for `from m import a, b`: the names
    relative: bool
    line: int

    @property
    def top(self) -> str:
        return self.target.split(".")[0]

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def source_files() -> tuple[Path, ...]:
    return tuple(sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")))


def _dynamic_target(node: ast.Call) -> str | None:
    """`importlib.import_module("x.y")` and `__import__("x.y")` with a literal name."""
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}
    )
    if named and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


@cache
def imports_of(path: Path) -> tuple[Import, ...]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, (), False, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(Import(module, base, tuple(a.name for a in node.names), bool(node.level), node.lineno))
        elif isinstance(node, ast.Call) and (target := _dynamic_target(node)):
            found.append(Import(module, target, (), False, node.lineno))
    return tuple(found)


def all_imports() -> list[Import]:
    return [imp for path in source_files() for imp in imports_of(path)]


def in_area(module: str, area: str) -> bool:
    return module == area or module.startswith(area + ".")


def first_party(imp: Import) -> bool:
    return imp.top in PACKAGES


# --- what each area may import from outside the project --------------------------------------

THIRD_PARTY = {
    "engine.domain": set(),
    "engine.bpmn": {"SpiffWorkflow", "lxml"},
    "engine.store": {"sqlalchemy", "alembic", "psycopg"},
    "engine.commands": {"click"},
    "engine.calendars": {"holidays"},
    "engine.units": {"vietnam_provinces"},
    "engine.documents": {"boto3", "botocore"},
    "engine.logs": {"pythonjsonlogger"},
    "engine.pdf": {"jinja2", "segno", "weasyprint"},
    "engine.pki": {"cryptography"},
    "engine.secret_box": {"cryptography"},
    "engine.signing": {"pyhanko", "pyhanko_certvalidator"},
    "engine": set(),  # services and the rest of the engine: first-party and stdlib only
    "configurator.validation": {"SpiffWorkflow", "lxml"},
    "configurator.commands": {"click"},
    "configurator": {"lxml", "marshmallow"},
    "web": {
        "flask",
        "flask_babel",
        "flask_login",
        "flask_wtf",
        "flask_sqlalchemy",
        "flask_smorest",
        "webargs",
        "werkzeug",
        "marshmallow",
        "apispec",
        "jinja2",
        "markupsafe",
        "babel",
        "click",
        "granian",
        "segno",
        "openpyxl",
        "prometheus_client",
        "wtforms",
        "itsdangerous",
        "icu",
    },
}


def allowed_third_party(module: str) -> set[str]:
    """The most specific area's list decides (engine.store's list, not engine's)."""
    area = max((a for a in THIRD_PARTY if in_area(module, a)), key=len)
    return THIRD_PARTY[area]


def library_breaches(imports: list[Import]) -> list[str]:
    return [
        str(imp)
        for imp in imports
        if not first_party(imp) and imp.top not in STDLIB and imp.top not in allowed_third_party(imp.module)
    ]


def test_each_area_imports_only_its_own_libraries():
    assert library_breaches(all_imports()) == []


# --- first-party: the layers -----------------------------------------------------------------

#: What each layer may import from the project (the most specific entry decides).
LAYERS = {
    "engine.domain": ("engine.domain",),
    "engine": ("engine",),
    "configurator": ("configurator", "engine"),
    "web": ("web", "configurator", "engine"),
}

#: The engine.store modules the web may read through besides the `*_queries` ones; writes go
#: through a use case. Row classes (`...Record`) may be named from any store module.
WEB_READS = {
    "engine.store.statistics",
    "engine.store.rollups",
    "engine.store.catalogue_records",
    "engine.store.records",
    "engine.store.database",
    "engine.store.base",
    "engine.store.all_records",
}


def web_may_read(target: str, names: tuple[str, ...]) -> bool:
    module = target if target != "engine.store" else None
    if module is None:  # `from engine.store import x, y`: each name is a module
        return all(web_may_read(f"engine.store.{name}", ()) for name in names)
    if module in WEB_READS or module.rpartition(".")[2].endswith("queries"):
        return True
    return bool(names) and all(name.endswith("Record") for name in names)


def layer_breaches(imports: list[Import]) -> list[str]:
    wrong = []
    for imp in imports:
        if not first_party(imp):
            continue
        area = max((a for a in LAYERS if in_area(imp.module, a)), key=len)
        if not any(in_area(imp.target, allowed) for allowed in LAYERS[area]):
            wrong.append(str(imp))
    return wrong


def test_layers_point_one_way():
    assert layer_breaches(all_imports()) == []


def store_breaches_of_the_web(imports: list[Import]) -> list[str]:
    return [
        str(imp)
        for imp in imports
        if in_area(imp.module, "web")
        and in_area(imp.target, "engine.store")
        and not web_may_read(imp.target, imp.names)
    ]


def test_the_web_reads_the_store_only_through_named_read_modules():
    assert store_breaches_of_the_web(all_imports()) == []


def test_no_relative_imports():
    assert [str(imp) for imp in all_imports() if imp.relative] == []


def private_name_breaches(imports: list[Import]) -> list[str]:
    wrong = []
    for imp in imports:
        if first_party(imp) and imp.target != imp.module:
            wrong += [f"{imp}: {name}" for name in imp.names if name.startswith("_") and not name.startswith("__")]
    return wrong


def private_attribute_breaches(path: Path, known: set[str]) -> list[str]:
    """`dossiers._load(...)` after `from engine.services import dossiers`: the same coupling as
    importing the private name, written as an attribute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in known:
                    modules[alias.asname] = alias.name
    return [
        f"{module_name(path)} (line {node.lineno}) uses {modules[node.value.id]}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]


def test_no_private_attributes_of_other_modules():
    known = {module_name(p) for p in source_files()}
    assert [breach for path in source_files() for breach in private_attribute_breaches(path, known)] == []


def test_no_private_names_cross_modules():
    """`from engine.x import _helper` couples two modules through what one of them keeps to itself."""
    assert private_name_breaches(all_imports()) == []


def module_graph(imports: list[Import], known: set[str]) -> dict[str, set[str]]:
    """Who imports whom among the project's modules; a package importing its own submodules (a
    blueprint registering its views) is not an edge."""
    graph: dict[str, set[str]] = {m: set() for m in known}
    for imp in imports:
        if not first_party(imp):
            continue
        # `from package import module` names a module; `from module import name` the module itself.
        targets = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in known] or [imp.target]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if (
                target
                and target != imp.module
                and not imp.module.startswith(target + ".")
                and not target.startswith(imp.module + ".")
            ):
                graph[imp.module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules():
    """Dynamic imports count: `importlib.import_module("x")` is an edge like `import x`."""
    graph = module_graph(all_imports(), {module_name(p) for p in source_files()})
    assert cycles(graph) == []


def probe(target: str, *, module: str = "engine.domain.probe", names=(), relative=False) -> list[Import]:
    return [Import(module, target, tuple(names), relative, 1)]


def test_each_rule_reports_a_breach_with_the_module_and_its_import():
    """A rule that cannot fail protects nothing."""
    assert layer_breaches(probe("web")) == ["engine.domain.probe (line 1) imports web"]
    assert layer_breaches(probe("engine.store", module="engine.domain.calendar")) != []
    assert library_breaches(probe("click", module="engine.domain.calendar")) != []
    assert library_breaches(probe("sqlalchemy.orm", module="web.throttle")) != []
    assert store_breaches_of_the_web(probe("engine.store", module="web.throttle", names=["account_records"])) != []
    assert (
        private_name_breaches(probe("engine.services.dossiers", module="engine.services.actions", names=["_load"]))
        != []
    )
    graph = module_graph(
        probe("engine.b", module="engine.a") + probe("engine.a", module="engine.b"), {"engine.a", "engine.b"}
    )
    assert cycles(graph) == [["engine.a", "engine.b"]]


def test_the_command_line_loads_flask_only_for_the_commands_that_serve():
    """`motcua worker` and the other operator commands run where no web server is installed or wanted."""

    probe_code = (
        "import sys, web.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'werkzeug', 'flask_login'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe_code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
