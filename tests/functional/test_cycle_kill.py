"""Killing the process for real in the middle of a milestone loses nothing and doubles nothing.

The milestone runs in a subprocess that is told (``PROMOFLOW_FAULT_PAUSE``) to stop half
way — cases moved and notices queued, milestone not yet recorded, nothing committed — and
is then SIGKILLed. Running the milestone again must give exactly what an uninterrupted run
gives: the same cases in the same states and the same notices.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.db import upgrade
from promoflow.engine.storage.models import Case, GradeHistory, Notice

PROMOFLOW = str(Path(sys.executable).with_name("promoflow"))
CYCLE = "sales-2026Q3"
STEPS = [
    ("open", "2026-10-08T09:00+08:00"),
    ("test_due", "2026-10-11T18:00+08:00"),
    ("interview_notice", "2026-10-12T09:00+08:00"),
    ("interview_due", "2026-10-15T18:00+08:00"),
    ("announce", "2026-10-20T09:00+08:00"),
]


def promoflow(url, *args):
    """``promoflow --db URL …`` in this process (only the run that is killed is a child)."""
    result = CliRunner().invoke(app, ["--db", url, *args])
    if result.exit_code != 0:
        raise AssertionError(f"{args}: {result.exit_code} {result.output}") from result.exception
    return result.output


def seed(url, folder: Path):
    employees = folder / "employees.csv"
    metrics = folder / "metrics.csv"
    rows = ["employee_id,name,track,grade,grade_since,hire_date,org_unit"]
    values = ["employee_id,period,metric,value"]
    for i in range(40):
        eid = f"K{i:03d}"
        rows.append(f"{eid},员工{i},sales,S{3 + i % 7},2025-01-01,2024-01-01,east")
        q3 = ["86", "79", "80", "90"][i % 4]
        for period, score in (("2026Q2", "85"), ("2026Q3", q3)):
            values += [f"{eid},{period},score,{score}", f"{eid},{period},sales_actual,90"]
            values.append(f"{eid},{period},sales_target,100")
    employees.write_text("\n".join(rows) + "\n", encoding="utf-8")
    metrics.write_text("\n".join(values) + "\n", encoding="utf-8")
    promoflow(url, "init", "--start", "2026-01-01T00:00+08:00")
    promoflow(url, "import", "employees", str(employees))
    promoflow(url, "import", "metrics", str(metrics))


def snapshot(url):
    rt = bootstrap(url)
    try:
        with rt.sessions() as session:
            cases = session.execute(
                select(Case.employee_id, Case.kind, Case.state, Case.flagged).order_by(
                    Case.employee_id
                )
            ).all()
            notices = session.execute(
                select(Notice.idempotency_key, Notice.subject, Notice.body, Notice.state).order_by(
                    Notice.idempotency_key
                )
            ).all()
            history = session.execute(
                select(GradeHistory.employee_id, GradeHistory.grade, GradeHistory.effective_from)
                .where(GradeHistory.source == "cycle")
                .order_by(GradeHistory.employee_id)
            ).all()
        return [tuple(r) for r in cases], [tuple(r) for r in notices], [tuple(r) for r in history]
    finally:
        rt.engine.dispose()


def run_until(url, step_index, results_file):
    for i, (_, now) in enumerate(STEPS[:step_index]):
        promoflow(url, "cycle", "advance", CYCLE, "--now", now)
        if i == 0:
            promoflow(url, "import", "results", str(results_file))


@pytest.mark.slow
@pytest.mark.parametrize("step", ["open", "announce"])
def test_a_milestone_killed_half_way_and_rerun_matches_an_uninterrupted_run(db_url, tmp_path, step):
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    upgrade(bootstrap(reference).engine)
    seed(reference, tmp_path)
    seed(db_url, tmp_path)
    results = tmp_path / "results.csv"
    results.write_text(
        "employee_id,cycle,stage,value\n"
        + "".join(f"K{i:03d},{CYCLE},written_test,{70 + i % 3}\n" for i in range(0, 40, 4)),
        encoding="utf-8",
    )
    index = [s for s, _ in STEPS].index(step)
    if index:
        run_until(reference, index, results)
        run_until(db_url, index, results)
    now = STEPS[index][1]
    promoflow(reference, "cycle", "advance", CYCLE, "--now", now)

    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [PROMOFLOW, "--db", db_url, "cycle", "advance", CYCLE, "--now", now],
        env={**os.environ, "PROMOFLOW_FAULT_PAUSE": str(marker), "PROMOFLOW_FAULT_STEP": step},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the milestone ended before reaching its fault point"
        assert time.monotonic() < deadline, "the fault point was never reached"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    killed = snapshot(db_url)
    assert killed != snapshot(reference)  # the killed run left nothing of its half
    promoflow(db_url, "cycle", "advance", CYCLE, "--now", now)
    assert snapshot(db_url) == snapshot(reference)
    # and opening again changes nothing
    promoflow(db_url, "cycle", "open", CYCLE, "--now", now)
    assert snapshot(db_url) == snapshot(reference)
