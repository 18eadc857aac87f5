"""The rules domain stays pure: loading and deciding never import SQLAlchemy or durable_rules."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from promoflow.rules.packs import bundled_packs
from promoflow.rules.examples import run_examples
from promoflow.rules.render import render_pack
for pack in bundled_packs().values():
    run_examples(pack)
    render_pack(pack, "en")
print(sorted(m for m in ("sqlalchemy", "durable", "durable_rules_engine") if m in sys.modules))
"""


def test_the_rules_package_runs_without_sqlalchemy_or_durable_rules():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_only_the_adapter_imports_durable_rules():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [
        path
        for folder in ("rules", "workflow", "engine", "scheduler", "console", "src")
        for path in (root / folder).rglob("*.py")
    ]
    assert len(sources) > 20
    importers = sorted(
        str(path.relative_to(root))
        for path in sources
        if "from durable" in path.read_text(encoding="utf-8")
        or "import durable" in path.read_text(encoding="utf-8")
    )
    assert importers == ["engine/rules_engine.py"]
