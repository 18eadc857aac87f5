"""``promoflow demo``: imports a synthetic org through the real services and never fakes a cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.models import Employee, GradeHistory, ImportRun

PROMOFLOW = Path(sys.executable).with_name("promoflow")


def _run(tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROMOFLOW), "demo", "--folder", "out", "--employees", "40", "--seed", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "HOME": str(tmp_path)},
    )


def test_the_demo_imports_a_fresh_synthetic_org_each_run_and_says_where_it_stops(tmp_path):
    for _ in range(2):  # a second run starts again from a fresh database
        done = _run(tmp_path)
        assert done.returncode == 0, done.stderr
        said = " ".join(done.stdout.split())  # Rich wraps lines to the terminal width
        assert "imported employees from employees.csv: 40 rows, 40 changed" in said
        assert "No decision was made or shown" in said
        rt = bootstrap(f"sqlite:///{tmp_path / 'out' / 'promoflow.db'}")
        with rt.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Employee)) == 40
            assert session.scalar(select(func.count()).select_from(ImportRun)) == 3
            assert session.scalar(select(func.count()).select_from(GradeHistory)) == 40
        rt.engine.dispose()
    assert (tmp_path / "out" / "metrics.csv").exists()
