"""Data revised after a cycle opened (POLICY.md §6, issue 20 item 4): the rules run again
for the employees whose inputs changed — same verdict: recorded; pending: re-decided;
another verdict: flagged ``facts_revised`` until HR accepts or keeps; after the
announcement: recorded only."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.cycles.steps import run_milestone
from promoflow.engine.imports import run_import
from promoflow.engine.storage.models import AuditEvent, Case, Decision, Notice
from tests.functional.audit_seed import CYCLE, OPEN, TZ, seed_cycle

runner = CliRunner()
LATER = datetime(2026, 10, 9, 9, 0, tzinfo=TZ)


def _metrics(rt, tmp_path, rows, name="revised.csv", when=LATER):
    path = tmp_path / name
    path.write_text("employee_id,period,metric,value\n" + "".join(
        f"{e},{p},{m},{v}\n" for e, p, m, v in rows), "utf-8")  # fmt: skip
    with rt.unit_of_work() as s:
        return run_import(s, "metrics", path, when, "hr").details


def _line(db_url, employee):
    out = runner.invoke(app, ["--db", db_url, "decisions", CYCLE, "--format", "json"]).stdout
    return next(x for x in map(json.loads, out.splitlines()) if x["employee_id"] == employee)


def _case(rt, employee):
    with rt.sessions() as s:
        return s.scalars(select(Case).where(Case.employee_id == employee)).one()


@pytest.fixture
def opened(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    return db_url


def test_the_same_verdict_is_recorded_and_nothing_else(rt, opened, tmp_path):
    details = _metrics(rt, tmp_path, [("E04", "2026Q3", "score", "86")])
    assert details["decisions_rechecked"] == 1
    assert _case(rt, "E04").flagged is None
    with rt.sessions() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.kind == "decision_rechecked"))
        assert (event.employee_id, event.after["same"]) == ("E04", True)


def test_another_verdict_holds_the_case_until_hr_accepts_it(rt, opened, tmp_path):
    _metrics(rt, tmp_path, [("E01", "2026Q3", "score", "70")])  # 90 → 70: no longer promoted
    case = _case(rt, "E01")
    assert case.flagged == "facts_revised: promoted S6 → demoted S4"
    line = _line(opened, "E01")
    assert (line["outcome"], line["rule_outcome"]) == ("pending", "promoted")
    accepted = runner.invoke(app, ["--db", opened, "--actor", "mia", "override", "accept-revision",
                                   CYCLE, "E01", "--reason", "score corrected by the branch",
                                   "--now", "2026-10-09T10:00+08:00"])  # fmt: skip
    assert accepted.exit_code == 0, accepted.output
    case = _case(rt, "E01")
    assert (case.kind, case.state, case.flagged) == ("demotion", "decided", None)
    line = _line(opened, "E01")
    assert (line["outcome"], line["to_grade"], line["rule_outcome"]) == ("demoted", "S4", "demoted")


def test_keeping_the_decision_clears_the_flag_and_the_nomination_stands(rt, opened, tmp_path):
    _metrics(rt, tmp_path, [("E02", "2026Q3", "score", "60")])
    kept = runner.invoke(app, ["--db", opened, "--actor", "mia", "override", "keep-decision",
                               CYCLE, "E02", "--reason", "the first score was the right one",
                               "--now", "2026-10-09T10:00+08:00"])  # fmt: skip
    assert kept.exit_code == 0, kept.output
    assert _case(rt, "E02").flagged is None
    assert _line(opened, "E02")["outcome"] == "promoted"


def test_a_pending_decision_is_decided_again_when_its_data_arrives(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path, open_cycle=False)
    newcomer = tmp_path / "newcomer.csv"
    newcomer.write_text(
        "employee_id,name,track,grade,grade_since,hire_date,org_unit,position\n"
        "E09,员工E09,sales,S5,2025-10-01,2024-03-15,east,\n", "utf-8")  # fmt: skip
    with rt.unit_of_work() as s:
        run_import(s, "employees", newcomer, OPEN, "hr")
    _metrics(rt, tmp_path, [("E09", "2026Q3", "score", "90"), ("E09", "2026Q3", "sales_actual",
             "95"), ("E09", "2026Q3", "sales_target", "100")], "q3.csv", OPEN)  # fmt: skip
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "open", OPEN, "scheduler")
    assert (_case(rt, "E09").kind, _line(db_url, "E09")["outcome"]) == ("pending", "pending")

    _metrics(rt, tmp_path, [("E09", "2026Q2", "score", "88"), ("E09", "2026Q2", "sales_actual",
             "95"), ("E09", "2026Q2", "sales_target", "100")], "q2.csv")  # fmt: skip
    case = _case(rt, "E09")
    assert (case.kind, case.state, case.flagged) == ("promotion", "test_notified", None)
    assert _line(db_url, "E09")["outcome"] == "promoted"
    with rt.sessions() as s:
        assert s.scalars(select(Notice.kind).where(Notice.employee_id == "E09")).all() == ["test"]
        decision = s.scalars(select(Decision).where(Decision.employee_id == "E09")).one()
        assert (decision.outcome, decision.to_grade, decision.missing) == ("promoted", "S6", [])


def test_after_the_announcement_a_revision_is_only_recorded(rt, opened, tmp_path):
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "announce", datetime(2026, 10, 20, 9, tzinfo=TZ), "scheduler")
    details = _metrics(rt, tmp_path, [("E07", "2026Q3", "score", "50")], when=datetime(
        2026, 10, 21, 9, tzinfo=TZ))  # fmt: skip
    assert details["revised"] == 1 and "decisions_rechecked" not in details
    assert _case(rt, "E07").flagged is None
