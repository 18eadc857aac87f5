"""``promoflow demo``: a synthetic org imported and run through whole cycles, for real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.models import Case, Cycle, Decision, Employee, ImportRun

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


def test_the_demo_imports_a_fresh_org_and_runs_both_cycles_through_every_milestone(tmp_path):
    for _ in range(2):  # a second run starts again from a fresh database
        done = _run(tmp_path)
        assert done.returncode == 0, done.stderr
        said = " ".join(done.stdout.split())  # Rich wraps lines to the terminal width
        assert "imported employees from employees.csv: 40 rows, 40 changed" in said
        assert "sales-2026Q3: outcomes per grade" in said
        assert "cs-2026Q3: outcomes per grade" in said
        rt = bootstrap(f"sqlite:///{tmp_path / 'out' / 'promoflow.db'}")
        with rt.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Employee)) == 40
            assert session.scalar(select(func.count()).select_from(ImportRun)) >= 3
            milestones = dict(session.execute(select(Cycle.cycle_id, Cycle.milestone)).all())
            assert set(milestones) == {"sales-2026Q3", "cs-2026Q3"}
            decided = session.scalar(select(func.count()).select_from(Decision))
            cases = session.scalar(select(func.count()).select_from(Case))
            assert decided == cases > 0
            assert verify_chain(session).ok
        rt.engine.dispose()
    assert (tmp_path / "out" / "metrics.csv").exists()
