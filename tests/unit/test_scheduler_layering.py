"""The scheduler is a thin entry point; the firing machinery is the engine's.

``scheduler/`` parses, calls one engine service and renders: it opens no transaction of
its own (no SQLAlchemy, no storage models, no queries). ``engine/scheduling`` never
reaches back into the entry points above it, and the milestone clock stays pure.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (``from x import y`` counts as ``x``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def function_level_imports(path: Path) -> list[str]:
    """``file:line`` of every import inside a function body."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.extend(
                f"{path.relative_to(ROOT)}:{inner.lineno}"
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            )
    return found


def sources(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no sources under {folder}"
    return files


def test_the_scheduler_entry_points_touch_no_database_machinery():
    for path in sources("scheduler"):
        forbidden = {
            m
            for m in imported_modules(path)
            if m.split(".")[0] == "sqlalchemy" or m.startswith("promoflow.engine.storage")
        }
        assert forbidden == set(), path
        assert "select(" not in path.read_text(encoding="utf-8"), path


def test_the_scheduling_services_do_not_import_their_callers():
    for path in sources("engine/scheduling"):
        upward = {
            m
            for m in imported_modules(path)
            if m.startswith(("promoflow.scheduler", "promoflow.console"))
        }
        assert upward == set(), path


def test_the_clock_and_the_scheduler_import_at_module_top():
    paths = [
        ROOT / "rules" / "calendar.py",
        *sources("scheduler"),
        *sources("engine/scheduling"),
        ROOT / "console" / "commands" / "scheduler.py",
        ROOT / "console" / "web" / "timeline.py",
    ]
    assert [hit for path in paths for hit in function_level_imports(path)] == []


def test_the_milestone_clock_loads_without_sqlalchemy():
    probe = "import sys; import promoflow.rules.calendar; print('sqlalchemy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
