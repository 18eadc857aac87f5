"""The architecture's contracts, read from the source (docs/architecture.md draws the map).

import-linter cannot see this layout (its graph builder wants top-level packages, and
``promoflow.rules`` … are folders mapped under one namespace by setup.py), so the same
contracts are checked here from each module's syntax tree: every ``import`` and
``from … import`` anywhere in a module, including the ones inside functions.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("rules", "workflow", "engine", "scheduler", "console", "demo")
#: durable_rules installs two import names: the Python host and its C engine
DURABLE = ("durable", "durable_rules_engine")


@dataclass(frozen=True)
class ImportLine:
    """One imported name as written in a module, and whether it sits inside a function."""

    target: str
    line: int
    in_function: bool


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT)
    if relative.parts[0] == "src":
        relative = relative.relative_to("src")
        parts = list(relative.with_suffix("").parts)
    else:
        parts = ["promoflow", *relative.with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    for path in (ROOT / "src" / "promoflow").rglob("*.py"):
        found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _imports(module: str, path: Path) -> list[ImportLine]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    lines: list[ImportLine] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                lines.extend(ImportLine(a.name, child.lineno, inside) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                lines.append(ImportLine(base, child.lineno, inside))
                lines.extend(
                    ImportLine(f"{base}.{a.name}", child.lineno, inside) for a in child.names
                )
            visit(child, inside)

    visit(tree, False)
    return lines


IMPORTS = {module: _imports(module, path) for module, path in SOURCES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def _violations(layers: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{SOURCES[module].relative_to(ROOT)}:{imp.line} imports {imp.target}"
        for module, imports in IMPORTS.items()
        if _layer(module) in layers
        for imp in imports
        if any(_is(imp.target, prefix) for prefix in forbidden)
    )


def test_the_contracts_see_every_layer():
    assert {_layer(m) for m in SOURCES} >= set(FOLDERS)
    assert len(SOURCES) > 100


def test_the_domain_imports_no_storage_engine_entry_point_or_durable_rules():
    forbidden = (
        "sqlalchemy",
        *DURABLE,
        "promoflow.engine",
        "promoflow.console",
        "promoflow.scheduler",
        "promoflow.demo",
        "fastapi",
        "typer",
        "apscheduler",
    )
    assert _violations({"rules", "workflow"}, forbidden) == []


def test_only_the_adapter_imports_durable_rules():
    importers = sorted(
        module
        for module, imports in IMPORTS.items()
        if any(_is(imp.target, prefix) for imp in imports for prefix in DURABLE)
    )
    assert importers == ["promoflow.engine.rules_engine"]


def test_entry_points_import_no_storage_and_no_sqlalchemy():
    forbidden = ("sqlalchemy", "promoflow.engine.storage")
    assert _violations({"console", "scheduler"}, forbidden) == []


def test_no_engine_module_imports_an_entry_point():
    forbidden = ("promoflow.console", "promoflow.scheduler", "promoflow.demo")
    assert _violations({"engine", "rules", "workflow"}, forbidden) == []


def test_entry_points_run_no_queries_of_their_own():
    offenders = sorted(
        str(path.relative_to(ROOT))
        for module, path in SOURCES.items()
        if _layer(module) in {"console", "scheduler"}
        and any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"select", "text"}
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    )
    assert offenders == []


def test_no_service_is_looked_up_by_a_string():
    offenders = sorted(
        f"{SOURCES[module].relative_to(ROOT)}:{imp.line}"
        for module, imports in IMPORTS.items()
        for imp in imports
        if imp.target in {"importlib.import_module", "importlib"}
    )
    assert offenders == []


def test_no_project_module_is_imported_inside_a_function():
    offenders = sorted(
        f"{SOURCES[module].relative_to(ROOT)}:{imp.line} imports {imp.target}"
        for module, imports in IMPORTS.items()
        for imp in imports
        if imp.in_function and _is(imp.target, "promoflow")
    )
    assert offenders == []


def _project_edges() -> dict[str, set[str]]:
    """Module → the project modules it imports. An edge to one's own parent package is left
    out: Python imports the parents of every module first, so it is no circle."""
    edges: dict[str, set[str]] = {}
    for module, imports in IMPORTS.items():
        targets = set()
        for imp in imports:
            name = imp.target
            while name and name not in SOURCES:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        edges[module] = targets
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_modules_import_each_other_in_a_circle():
    assert _cycles(_project_edges()) == []


def test_the_cycle_finder_finds_a_circle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("target", "prefix", "expected"),
    [("sqlalchemy.orm", "sqlalchemy", True), ("sqlalchemy_utils", "sqlalchemy", False)],
)
def test_a_prefix_matches_whole_module_names_only(target, prefix, expected):
    assert _is(target, prefix) is expected
