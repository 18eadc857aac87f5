"""An employee record changed mid-cycle holds the case for HR (POLICY.md §6, issue 20 item
5): the effective step no longer overwrites HR's edit with the grade the cycle decided on
another grade, nor gives a sales grade to someone moved to customer service."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.cases import moves as cases
from promoflow.engine.cycles.steps import run_milestone
from promoflow.engine.imports import run_import
from promoflow.engine.overrides.query import list_overrides
from promoflow.engine.storage.models import AuditEvent, Case, Employee
from promoflow.errors import AccessDenied
from promoflow.workflow.guards import judge
from tests.functional.audit_seed import CYCLE, PEOPLE, TZ, seed_cycle

runner = CliRunner()
HEADER = ["employee_id", "name", "track", "grade", "grade_since", "hire_date", "org_unit",
          "position"]  # fmt: skip


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _pass_everyone_and_announce(rt) -> None:
    for step, when in (("test_due", at("2026-10-11T18:00")),
                       ("interview_notice", at("2026-10-12T09:00")),
                       ("interview_due", at("2026-10-15T18:00")),
                       ("announce", at("2026-10-20T09:00"))):  # fmt: skip
        with rt.unit_of_work() as s:
            for case in s.scalars(select(Case).where(Case.state.like("%_notified"))).all():
                stage = "written_test" if case.state == "test_notified" else "interview"
                trigger = "record_test" if stage == "written_test" else "record_interview"
                verdict = judge(stage, "90", {"written_test": 60, "interview": 60})
                cases.trigger(s, case, trigger, when, "hr", verdict=verdict)
        with rt.unit_of_work() as s:
            run_milestone(s, CYCLE, step, when, "scheduler")


def _reimport(rt, tmp_path, actor="olivia", **changes: tuple[str, str]) -> dict:
    rows = []
    for e, (grade, _, _) in PEOPLE.items():
        track, grade = changes.get(e, ("sales", grade))
        rows.append([e, f"员工{e}", track, grade, "2025-10-01", "2024-03-15", "east", ""])
    path = tmp_path / "employees-again.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *rows])
    with rt.unit_of_work() as s:
        return run_import(s, "employees", path, at("2026-10-25T09:00"), actor).details


@pytest.fixture
def announced(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    _pass_everyone_and_announce(rt)
    return db_url


def test_a_grade_changed_by_import_waits_for_four_eyes_and_the_cycle_does_not_overwrite_it(
    rt, announced, tmp_path
):
    # a manager's file (an officer may not move anyone to another track: tests/security)
    details = _reimport(
        rt, tmp_path, actor="max", E01=("sales", "S7"), E02=("cs", "普通客服代表·中级")
    )
    assert details["cases_held"] == 2
    with rt.sessions() as s:
        flags = dict(s.execute(select(Case.employee_id, Case.flagged).where(
            Case.employee_id.in_(["E01", "E02"]))).all())  # fmt: skip
        # the grade change of someone with an open case is a proposal, not a fact yet
        assert s.get(Employee, "E01").grade == "S5"
        (proposal,) = list_overrides(s, status="proposed")
        assert (proposal.kind, proposal.employee_id, proposal.proposed_by) == (
            "set_grade", "E01", "max")  # fmt: skip
        assert proposal.effect["to_grade"] == "S7"
    assert flags["E01"] == "employee_changed: grade S5 → S7 (awaiting approval)"
    assert flags["E02"] == "employee_changed: track sales → cs, grade S5 → 普通客服代表·中级"

    lines = runner.invoke(app, ["--db", announced, "decisions", CYCLE, "--format", "json"])
    by_id = {x["employee_id"]: x for x in map(json.loads, lines.stdout.splitlines())}
    assert (by_id["E01"]["outcome"], by_id["E01"]["rule_outcome"]) == ("pending", "promoted")

    approve = ["override", "approve", str(proposal.id), "--now", "2026-10-26T09:00+08:00"]
    approved = runner.invoke(app, ["--db", announced, "--actor", "mia", *approve])
    assert approved.exit_code == 0, approved.output
    with rt.unit_of_work() as s:
        report = run_milestone(s, CYCLE, "effective", at("2026-11-01T00:00"), "scheduler")
    assert report.counts["effective"]["held_for_hr"] == 2
    assert report.counts["effective"]["overrides_applied"] == 1
    with rt.sessions() as s:
        assert (s.get(Employee, "E01").track, s.get(Employee, "E01").grade) == ("sales", "S7")
        assert (s.get(Employee, "E02").track, s.get(Employee, "E02").grade) == (
            "cs", "普通客服代表·中级")  # fmt: skip
        assert s.get(Employee, "E04").grade == "S6"  # an unchanged nominee takes effect
        state = s.scalars(select(Case.state).where(Case.employee_id == "E02")).one()
        assert state == "announced"

    kept = runner.invoke(app, ["--db", announced, "--actor", "mia", "override", "keep-decision",
                               CYCLE, "E02", "--reason", "the move to cs was a mistake",
                               "--now", "2026-11-02T09:00+08:00"])  # fmt: skip
    assert kept.exit_code == 0, kept.output
    with rt.sessions() as s:
        case = s.scalars(select(Case).where(Case.employee_id == "E02")).one()
        assert (case.state, case.flagged) == ("effective", None)
        released = s.scalars(select(AuditEvent).where(AuditEvent.kind == "case_released")).one()
        assert released.before["flagged"].startswith("employee_changed: track sales → cs")


def test_a_grade_change_for_someone_with_an_open_case_needs_an_hr_role(rt, announced, tmp_path):
    with pytest.raises(AccessDenied, match="propose an override"):
        _reimport(rt, tmp_path, actor="importer", E01=("sales", "S7"))
    with rt.sessions() as s:
        assert s.get(Employee, "E01").grade == "S5"


def test_keep_decision_on_a_case_not_held_is_refused(rt, announced):
    done = runner.invoke(app, ["--db", announced, "--actor", "mia", "override", "keep-decision",
                               CYCLE, "E04", "--reason", "x"])  # fmt: skip
    assert "keep_decision releases a case held for HR" in str(done.exception)


def test_a_case_held_before_the_announcement_is_announced_once_hr_keeps_it(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    for step, when in (("test_due", at("2026-10-11T18:00")),
                       ("interview_notice", at("2026-10-12T09:00"))):  # fmt: skip
        with rt.unit_of_work() as s:
            for case in s.scalars(select(Case).where(Case.state.like("%_notified"))).all():
                stage = "written_test" if case.state == "test_notified" else "interview"
                trigger = "record_test" if stage == "written_test" else "record_interview"
                verdict = judge(stage, "90", {"written_test": 60, "interview": 60})
                cases.trigger(s, case, trigger, when, "hr", verdict=verdict)
            run_milestone(s, CYCLE, step, when, "scheduler")
    with rt.unit_of_work() as s:
        for case in s.scalars(select(Case).where(Case.state == "interview_notified")).all():
            verdict = judge("interview", "90", {"interview": 60})
            cases.trigger(
                s, case, "record_interview", at("2026-10-14T09:00"), "hr", verdict=verdict
            )
    rows = [[e, f"员工{e}", "sales", g, "2025-10-01", "2024-03-15",
             "west" if e == "E04" else "east", ""] for e, (g, _, _) in PEOPLE.items()]  # fmt: skip
    path = tmp_path / "moved.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *rows])
    with rt.unit_of_work() as s:
        run_import(s, "employees", path, at("2026-10-16T09:00"), "olivia")
        run_milestone(s, CYCLE, "announce", at("2026-10-20T09:00"), "scheduler")
    with rt.sessions() as s:
        case = s.scalars(select(Case).where(Case.employee_id == "E04")).one()
        assert (case.state, case.flagged) == (
            "interview_passed",
            "employee_changed: org_unit east → west",
        )
        assert s.scalars(select(Case.state).where(Case.employee_id == "E01")).one() == "announced"
    kept = runner.invoke(app, ["--db", db_url, "--actor", "mia", "override", "keep-decision",
                               CYCLE, "E04", "--reason", "the move keeps the same post",
                               "--now", "2026-10-21T09:00+08:00"])  # fmt: skip
    assert kept.exit_code == 0, kept.output
    with rt.sessions() as s:
        assert s.scalars(select(Case.state).where(Case.employee_id == "E04")).one() == "announced"
