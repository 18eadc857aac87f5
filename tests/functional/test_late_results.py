"""Results recorded after the announcement move the case on by themselves (POLICY.md §6,
issue 20 item 3): announced at once, with its notice and grade history, and made
effective too when the cycle's effective date has passed — by import or by override."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.cycles.steps import run_milestone
from promoflow.engine.imports import run_import
from promoflow.engine.storage.models import Case, Employee, GradeHistory, Notice
from tests.functional.audit_seed import CYCLE, TZ, seed_cycle

runner = CliRunner()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _results(rt, tmp_path, rows, when):
    path = tmp_path / f"r-{when:%m%d%H%M}.csv"
    path.write_text("employee_id,cycle,stage,value\n" + "".join(
        f"{e},{CYCLE},{stage},{value}\n" for e, stage, value in rows), "utf-8")  # fmt: skip
    with rt.unit_of_work() as s:
        run_import(s, "results", path, when, "hr")


@pytest.fixture
def announced(rt, db_url, tmp_path):
    """E01 passed everything on time; E02 and E03 passed the test, their interview results
    missing at the deadline; the cycle announced."""
    seed_cycle(rt, tmp_path)
    trio = ["E01", "E02", "E03"]
    _results(rt, tmp_path, [(e, "written_test", "90") for e in trio], at("2026-10-10T09:00"))
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "interview_notice", at("2026-10-12T09:00"), "scheduler")
    _results(rt, tmp_path, [("E01", "interview", "pass")], at("2026-10-14T09:00"))
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "announce", at("2026-10-20T09:00"), "scheduler")
    return db_url


def _state(rt, employee):
    with rt.sessions() as s:
        return s.scalars(select(Case.state).where(Case.employee_id == employee)).one()


def test_a_late_result_before_the_effective_date_is_announced_then_takes_effect(
    rt, announced, tmp_path
):
    assert _state(rt, "E02") == "interview_missing"
    _results(rt, tmp_path, [("E02", "interview", "pass")], at("2026-10-25T09:00"))
    assert _state(rt, "E02") == "announced"
    with rt.sessions() as s:
        kinds = s.scalars(select(Notice.kind).where(Notice.employee_id == "E02")).all()
        assert "promotion" in kinds
        history = select(GradeHistory.grade).where(
            GradeHistory.employee_id == "E02", GradeHistory.source == "cycle"
        )
        assert s.scalars(history).all() == ["S6"]
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "effective", at("2026-11-01T00:00"), "scheduler")
    with rt.sessions() as s:
        assert s.get(Employee, "E02").grade == "S6"
    assert _state(rt, "E02") == "effective"


def test_a_late_result_after_the_effective_date_takes_effect_by_itself(rt, announced):
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "effective", at("2026-11-01T00:00"), "scheduler")
    done = runner.invoke(app, ["--db", announced, "--actor", "mia", "override", "record-result",
                               CYCLE, "E03", "--stage", "interview", "--value", "pass",
                               "--reason", "panel sheet found", "--now",
                               "2026-11-05T10:00+08:00"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert _state(rt, "E03") == "effective"
    with rt.sessions() as s:
        employee = s.get(Employee, "E03")
        assert employee.grade == "S6"
    status = runner.invoke(app, ["--db", announced, "cycle", "status", CYCLE, "--format", "json"])
    waiting = json.loads(status.stdout)["waiting_on"]
    assert "announcement" not in waiting and "effective date" not in waiting
    lines = runner.invoke(app, ["--db", announced, "decisions", CYCLE, "--format", "json"])
    (line,) = [json.loads(x) for x in lines.stdout.splitlines() if '"E03"' in x]
    assert (line["outcome"], line["to_grade"], line["state"]) == ("promoted", "S6", "effective")
