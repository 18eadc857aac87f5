"""A quarter HR closes (issue 20's story): every kind of case that waits for people — an
elimination review, a decision pending for missing data, a missing interview result — is
closed by an HR decision; the cycle then reads ``"closed": true`` and the next quarter's
decisions start from the grades the first one made effective."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.console.web.app import create_app
from promoflow.engine.cycles.steps import run_milestone
from promoflow.engine.imports import run_import
from promoflow.engine.storage.models import Case, Employee
from tests.functional.audit_seed import CYCLE, OPEN, TZ, seed_cycle
from tests.functional.web_client import login
from tests.functional.web_seed import add_users

runner = CliRunner()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def cli(db_url, *args, actor="mia"):
    done = runner.invoke(app, ["--db", db_url, "--actor", actor, *args])
    assert done.exit_code == 0, (args, done.output, done.exception)
    return done.stdout


def _results(rt, tmp_path, rows, when):
    path = tmp_path / f"results-{when:%m%d%H}.csv"
    path.write_text("employee_id,cycle,stage,value\n" + "".join(
        f"{e},{CYCLE},{stage},{value}\n" for e, stage, value in rows), "utf-8")  # fmt: skip
    with rt.unit_of_work() as s:
        run_import(s, "results", path, when, "hr")


def test_a_quarter_whose_waiting_cases_hr_closes_ends_closed(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path, open_cycle=False)
    newcomer = tmp_path / "newcomer.csv"  # E09 has no Q2 metrics: its decision is pending
    newcomer.write_text(
        "employee_id,name,track,grade,grade_since,hire_date,org_unit,position\n"
        "E09,员工E09,sales,S5,2025-10-01,2024-03-15,east,\n", "utf-8")  # fmt: skip
    q3 = tmp_path / "e09.csv"
    q3.write_text("employee_id,period,metric,value\nE09,2026Q3,score,90\n"
                  "E09,2026Q3,sales_actual,95\nE09,2026Q3,sales_target,100\n", "utf-8")  # fmt: skip
    with rt.unit_of_work() as s:
        run_import(s, "employees", newcomer, OPEN, "hr")
        run_import(s, "metrics", q3, OPEN, "hr")
        run_milestone(s, CYCLE, "open", OPEN, "scheduler")

    nominated = ["E01", "E02", "E03", "E04", "E06"]
    _results(rt, tmp_path, [(e, "written_test", "90") for e in nominated], at("2026-10-10T09:00"))
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "interview_notice", at("2026-10-12T09:00"), "scheduler")
    # E06's interview result never comes: missing at the deadline
    _results(rt, tmp_path, [(e, "interview", "pass") for e in nominated[:4]],
             at("2026-10-14T09:00"))  # fmt: skip
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "interview_due", at("2026-10-15T18:00"), "scheduler")

    status = json.loads(cli(db_url, "cycle", "status", CYCLE, "--format", "json"))
    assert status["closed"] is False
    assert set(status["waiting_on"]) >= {
        "HR: elimination review", "HR: data missing for the decision",
        "HR: interview result missing at deadline",
    }  # fmt: skip

    now = ["--now", "2026-10-16T10:00+08:00"]
    cli(db_url, "override", "retain", CYCLE, "E08", "--reason", "新客户开拓中", *now)
    cli(db_url, "override", "set-grade", "E09", "S5", "--cycle", CYCLE, "--reason",
        "入职未满两季度，维持原级", *now)  # fmt: skip
    cli(db_url, "override", "approve", "2", "--note", "同意", *now, actor="max")  # grades: 4 eyes
    cli(db_url, "override", "waive-stage", CYCLE, "E06", "--reason", "面试官出差，免试", *now)
    with rt.unit_of_work() as s:
        run_milestone(s, CYCLE, "announce", at("2026-10-20T09:00"), "scheduler")
        run_milestone(s, CYCLE, "effective", at("2026-11-01T00:00"), "scheduler")

    status = json.loads(cli(db_url, "cycle", "status", CYCLE, "--format", "json"))
    assert status["waiting_on"] == {} and status["closed"] is True
    listed_lines = cli(db_url, "cycle", "list", "--format", "json").splitlines()
    (listed,) = [json.loads(x) for x in listed_lines]
    assert listed["closed"] is True
    with rt.sessions() as s:
        grades = dict(s.execute(select(Employee.employee_id, Employee.grade)).all())
        states = dict(s.execute(select(Case.employee_id, Case.state)).all())
    assert states["E09"] == "resolved" and states["E08"] == "retained"
    assert grades["E06"] == "S6" and grades["E05"] == "S4"

    with rt.unit_of_work() as s:  # the next quarter opens on its calendar day
        run_milestone(s, "sales-2026Q4", "open", at("2027-01-08T09:00"), "scheduler")
    lines = cli(db_url, "decisions", "sales-2026Q4", "--format", "json").splitlines()
    starts = {x["employee_id"]: x["from_grade"] for x in map(json.loads, lines)}
    assert starts == {e: grades[e] for e in starts}
    assert starts["E01"] == "S6" and starts["E05"] == "S4"
    # the dashboard says which cycles are still open, and how much waits in each
    with rt.unit_of_work() as s:
        add_users(s)
    page = login(create_app(rt), "viewer").get("/").text

    def row(cycle: str) -> str:  # the cycle's row in the cycles table
        start = page.index(f'<tr><td><a href="/cycles/{cycle}">')
        return page[start:].split("</tr>")[0]

    assert '<td class="closed">已结束</td>' in row(CYCLE)
    assert '<td class="open">进行中（' in row("sales-2026Q4")
