"""Whole cycles through the command line, on hand-made edge cases of POLICY.md §1–§3.

Each scenario imports employees and metrics, opens the cycle, imports results, advances
milestone by milestone, and compares ``promoflow decisions CYCLE --format json`` with the
outcome POLICY.md gives for each hand-made employee — every boundary of §1 and §2 among them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.storage.models import Notice
from promoflow.errors import InputError

runner = CliRunner()


class Cli:
    """``promoflow --db URL …`` in-process, failing loudly on a non-zero exit."""

    def __init__(self, db_url: str, folder: Path):
        self.db, self.folder = db_url, folder

    def __call__(self, *args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--db", self.db, *args])
        if result.exit_code != code:
            raise AssertionError(
                f"promoflow {' '.join(args)} exited {result.exit_code}: {result.output}"
                f"{result.exception!r}"
            ) from result.exception
        return result.output

    def csv(self, name: str, header: list[str], rows: list[list]) -> str:
        path = self.folder / name
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return str(path)

    def load(self, employees: list[list], metrics: list[list], vacancies=None) -> None:
        self("init", "--start", "2026-01-01T00:00+08:00")
        emp = self.csv(
            "employees.csv",
            ["employee_id", "name", "track", "grade", "grade_since", "hire_date", "org_unit"],
            [[e[0], f"员工{e[0]}", e[1], e[2], e[3], "2024-01-01", "east"] for e in employees],
        )
        self("import", "employees", emp)
        self(
            "import",
            "metrics",
            self.csv("metrics.csv", ["employee_id", "period", "metric", "value"], metrics),
        )
        if vacancies:
            self(
                "import",
                "vacancies",
                self.csv("vacancies.csv", ["org_unit", "position", "open"], vacancies),
            )

    def results(self, cycle: str, rows: list[list], code: int = 0) -> str:
        path = self.csv(
            "results.csv",
            ["employee_id", "cycle", "stage", "value"],
            [[r[0], cycle, *r[1:]] for r in rows],
        )
        return self("import", "results", path, code=code)

    def decisions(self, cycle: str) -> dict[str, dict]:
        lines = self("decisions", cycle, "--format", "json").splitlines()
        out = {}
        for line in lines:
            row = json.loads(line)
            assert list(row) == [
                "cycle",
                "employee_id",
                "from_grade",
                "to_grade",
                "outcome",
                "state",
                "probation",
                "review",
                "rule",
                "reasons",
                "rule_outcome",
                "rule_to_grade",
                "review_decision",
                "overrides",
                "effective_from",
            ]
            assert row["employee_id"] not in out
            out[row["employee_id"]] = row
        return out


def notice_bodies(url: str, kind: str) -> dict[str, str]:
    """Bodies of the queued notices of one kind, by employee."""
    rt = bootstrap(url)
    try:
        with rt.sessions() as session:
            rows = session.execute(
                select(Notice.employee_id, Notice.body)
                .where(Notice.kind == kind)
                .order_by(Notice.employee_id)
            ).all()
        return dict(rows)
    finally:
        rt.engine.dispose()


@pytest.fixture
def cli(db_url, tmp_path):
    return Cli(db_url, tmp_path)


def quarter(eid, period, score, actual="90", target="100"):
    rows = [[eid, period, "score", score]]
    if actual is not None:
        rows += [[eid, period, "sales_actual", actual], [eid, period, "sales_target", target]]
    return rows


# id, grade, since, Q2 (score, actual) or None, Q3 (score, actual) → outcome, to, review, end state
SALES_Q = [
    (
        "S01",
        "S5",
        "2025-01-01",
        ("80", "80.01"),
        ("80", "80.01"),
        "promoted",
        "S6",
        None,
        "effective",
    ),
    ("S02", "S5", "2025-01-01", ("90", "95"), ("79.99", "95"), "demoted", "S4", None, "effective"),
    ("S03", "S5", "2025-01-01", ("90", "95"), ("85", "80"), "unchanged", "S5", None, "announced"),
    ("S04", "S5", "2025-01-01", ("90", "95"), ("85", "79.99"), "demoted", "S4", None, "effective"),
    # a nomination that fails its written test reads as unchanged in the export
    ("S05", "S5", "2026-07-01", ("90", "95"), ("90", "95"), "unchanged", "S5", None, "test_failed"),
    ("S06", "S5", "2026-07-02", ("90", "95"), ("90", "95"), "unchanged", "S5", None, "announced"),
    (
        "S07",
        "S3",
        "2025-01-01",
        ("90", "95"),
        ("70", "95"),
        "unchanged",
        "S3",
        "elimination",
        "review_opened",
    ),
    (
        "S08",
        "S9",
        "2025-01-01",
        ("90", "95"),
        ("90", "95"),
        "pending",  # nominated, but the interview result never came: waits for HR
        "S9",
        None,
        "interview_missing",
    ),
    ("S09", "S5", "2025-01-01", None, ("90", "95"), "pending", "S5", None, "waiting_data"),
    ("S10", "S5", "2026-07-15", None, ("90", "95"), "unchanged", "S5", None, "announced"),
    (
        "S11",
        "S7",
        "2025-01-01",
        ("79.99", "95"),
        ("90", "95"),
        "unchanged",
        "S7",
        None,
        "announced",
    ),
    ("S12", "S3", "2025-01-01", ("85", "95"), ("85", "95"), "pending", "S3", None, "test_missing"),
    ("S13", "S5", "2025-01-01", ("85", "80"), ("85", "95"), "unchanged", "S5", None, "announced"),
]


def test_a_sales_quarter_runs_end_to_end_through_the_cli(cli):
    employees = [[e[0], "sales", e[1], e[2]] for e in SALES_Q] + [
        ["S99", "sales", "S10", "2025-01-01"]
    ]
    metrics = []
    for eid, _, _, q2, q3, *_ in SALES_Q:
        if q2:
            metrics += quarter(eid, "2026Q2", q2[0], q2[1])
        metrics += quarter(eid, "2026Q3", q3[0], q3[1])
    cli.load(employees, metrics)
    cycle = "sales-2026Q3"
    assert "cases 13" in cli("cycle", "open", cycle, "--now", "2026-10-08T09:00+08:00")
    cli.results(
        cycle,
        [
            ["S01", "written_test", "60"],
            ["S05", "written_test", "59.99"],
            ["S08", "written_test", "75"],
        ],
    )
    cli("cycle", "advance", cycle, "--now", "2026-10-11T18:00+08:00")
    cli("cycle", "interview", cycle, "--at", "2026-10-14T14:30+08:00", "--place", "总部 3 楼")
    cli("cycle", "advance", cycle, "--now", "2026-10-12T09:00+08:00")
    bodies = notice_bodies(cli.db, "interview")
    assert list(bodies) == ["S01", "S08"]
    assert "2026-10-14 14:30" in bodies["S01"] and "总部 3 楼" in bodies["S01"]
    cli.results(cycle, [["S01", "interview", "沟通能力=70;团队协作=50"]])
    cli("cycle", "advance", cycle, "--now", "2026-10-15T18:00+08:00")
    status = json.loads(cli("cycle", "status", cycle, "--json"))
    assert status["waiting_on"]["HR: written-test result missing at deadline"] == 1
    assert status["waiting_on"]["HR: interview result missing at deadline"] == 1
    cli("cycle", "advance", cycle, "--now", "2026-10-20T09:00+08:00")
    cli("cycle", "advance", cycle, "--now", "2026-11-01T00:00+08:00")
    lines = cli.decisions(cycle)
    assert set(lines) == {e[0] for e in SALES_Q}  # S10 grades are half-yearly: not in a quarter
    for eid, *_, outcome, to, review, state in SALES_Q:
        got = lines[eid]
        assert (got["outcome"], got["to_grade"], got["review"], got["state"]) == (
            outcome,
            to,
            review,
            state,
        ), eid
    text = cli("cycle", "status", cycle)
    assert "promotion" in text and "flagged for HR" in text
    # a file with one uninvited employee imports nothing, not even the good row, and names it
    path = cli.csv(
        "late.csv",
        ["employee_id", "cycle", "stage", "value"],
        [["S12", cycle, "written_test", "70"], ["S06", cycle, "written_test", "70"]],
    )
    result = runner.invoke(app, ["--db", cli.db, "import", "results", path])
    assert isinstance(result.exception, InputError)
    assert [(p.line, p.column) for p in result.exception.problems] == [(3, "stage")]
    assert cli.decisions(cycle)["S12"]["state"] == "test_missing"


SALES_H = [
    # id, grade, since, Q3 score, Q4 score, half actual, test, interview → outcome, to, end state
    ("H1", "S12", "2026-01-01", "85", "85", "90", "90", "90", "promoted", "S13", "effective"),
    ("H2", "S12", "2026-01-01", "85", "85", "90", "80", "80", "unchanged", "S12", "no_vacancy"),
    ("H3", "S10", "2026-07-01", "85", "85", "90", "70", "pass", "promoted", "S11", "effective"),
    ("H4", "S10", "2026-07-02", "85", "85", "90", None, None, "unchanged", "S10", "announced"),
    ("H5", "S11", "2025-01-01", "79", "79", "90", None, None, "demoted", "S10", "effective"),
    ("H6", "S11", "2025-01-01", "79", "85", "90", None, None, "unchanged", "S11", "announced"),
    ("H7", "S11", "2025-01-01", "85", "85", "79.99", None, None, "demoted", "S10", "effective"),
    ("H8", "S13", "2025-01-01", "50", "50", "10", None, None, "unchanged", "S13", "announced"),
]


def test_a_sales_half_year_ranks_candidates_for_the_one_vacancy(cli):
    employees = [[e[0], "sales", e[1], e[2]] for e in SALES_H]
    metrics = []
    for eid, _, _, q3, q4, actual, *_ in SALES_H:
        metrics += [[eid, "2026Q3", "score", q3], [eid, "2026Q4", "score", q4]]
        metrics += [[eid, "2026H2", "sales_actual", actual], [eid, "2026H2", "sales_target", "100"]]
    cli.load(employees, metrics, vacancies=[["east", "sales_manager", "1"]])
    cycle = "sales-2026H2"
    cli("cycle", "open", cycle, "--now", "2027-01-08T09:00+08:00")
    cli.results(cycle, [[e[0], "written_test", e[6]] for e in SALES_H if e[6]])
    cli("cycle", "advance", cycle, "--now", "2027-01-11T18:00+08:00")
    cli("cycle", "advance", cycle, "--now", "2027-01-12T09:00+08:00")
    cli.results(cycle, [[e[0], "interview", e[7]] for e in SALES_H if e[7]])
    for now in ("2027-01-15T18:00", "2027-01-20T09:00", "2027-02-01T00:00"):
        cli("cycle", "advance", cycle, "--now", now + "+08:00")
    lines = cli.decisions(cycle)
    assert set(lines) == {e[0] for e in SALES_H}
    for eid, *_, outcome, to, state in SALES_H:
        got = lines[eid]
        assert (got["outcome"], got["to_grade"], got["state"]) == (outcome, to, state), eid


CS = [
    "普通客服代表·中级",
    "普通客服代表·高级",
    "大客户客服代表·中级",
    "大客户客服代表·高级",
    "高级客服代表·中级",
    "高级客服代表·高级",
]
# id, grade index, three monthly scores, Nov score → outcome, to index, probation, review, end state
CS_CASES = [
    ("C01", 1, ("80", "80", "80.03"), None, "promoted", 2, False, None, "effective"),
    ("C02", 1, ("80", "80", "80"), None, "unchanged", 1, False, None, "announced"),
    ("C03", 1, ("70", "70", "70"), None, "unchanged", 1, False, None, "announced"),
    ("C04", 1, ("69.99", "69.99", "69.99"), None, "demoted", 0, False, None, "effective"),
    ("C05", 1, ("50", "50", "50"), None, "demoted", 0, False, None, "effective"),
    ("C06", 2, ("49.99", "49.99", "49.99"), "50", "demoted", 1, True, None, "cleared"),
    ("C07", 2, ("40", "40", "40"), "49.99", "demoted", 1, True, "dismissal", "dismissal_review"),
    ("C08", 0, ("60", "60", "60"), None, "unchanged", 0, False, "below_standard", "announced"),
    ("C09", 5, ("90", "90", "90"), None, "unchanged", 5, False, None, "announced"),
    ("C10", 3, ("45", "45", "45"), None, "demoted", 2, True, None, "on_probation"),
    # at the bottom grade an average below 50 still starts the probation (POLICY.md §2):
    # unchanged, below standard until the month is read, then a dismissal review if < 50
    ("C11", 0, ("45", "45", "45"), "40", "unchanged", 0, True, "dismissal", "dismissal_review"),
    ("C12", 0, ("45", "45", "45"), "60", "unchanged", 0, True, "below_standard", "cleared"),
]


def test_a_customer_service_quarter_with_a_probation_review(cli):
    employees = [[c[0], "cs", CS[c[1]], "2025-01-01"] for c in CS_CASES]
    metrics = []
    for eid, _, months, nov, *_ in CS_CASES:
        metrics += [[eid, f"2026-0{7 + i}", "score", s] for i, s in enumerate(months)]
        if nov:
            metrics.append([eid, "2026-11", "score", nov])
    cli.load(employees, metrics)
    cycle = "cs-2026Q3"
    cli("cycle", "open", cycle, "--now", "2026-10-08T09:00+08:00")
    cli("cycle", "advance", cycle, "--now", "2026-10-20T09:00+08:00")
    out = cli("cycle", "advance", cycle, "--now", "2026-12-08T09:00+08:00")
    assert "effective" in out
    cli("cycle", "advance", cycle, "--now", "2026-12-08T09:00+08:00")
    lines = cli.decisions(cycle)
    assert set(lines) == {c[0] for c in CS_CASES}
    for eid, _, _, _, outcome, to, probation, review, state in CS_CASES:
        got = lines[eid]
        assert (got["outcome"], got["to_grade"], got["probation"], got["review"], got["state"]) == (
            outcome,
            CS[to],
            probation,
            review,
            state,
        ), eid
    # the department decides; the case never leaves dismissal review by itself
    assert "department decision: 2" in cli("cycle", "status", cycle)
    kept = notice_bodies(cli.db, "probation")["C11"]
    assert f"您的职级保持 {CS[0]}（已是最低职级），自 2026-11-01 起进入为期一个月的试用期" in kept


SUPPORT = ["技术支持·中级", "技术支持·高级", "技术支持组长·中级", "技术支持组长·高级"]


def test_a_support_quarter_runs_end_to_end(cli):
    cases = [
        ("T1", 1, "85", "promoted", 2, False, "effective"),
        ("T2", 1, "45", "demoted", 0, True, "on_probation"),
        ("T3", 1, "75", "unchanged", 1, False, "announced"),
        ("T4", 3, "81", "unchanged", 3, False, "announced"),
    ]
    employees = [[c[0], "support", SUPPORT[c[1]], "2025-01-01"] for c in cases]
    metrics = [[c[0], f"2026-0{m}", "score", c[2]] for c in cases for m in (7, 8, 9)]
    cli.load(employees, metrics)
    cycle = "support-2026Q3"
    cli("cycle", "open", cycle, "--now", "2026-10-08T09:00+08:00")
    cli("cycle", "advance", cycle, "--now", "2026-10-20T09:00+08:00")
    cli("cycle", "advance", cycle, "--now", "2026-11-01T00:00+08:00")
    lines = cli.decisions(cycle)
    for eid, _, _, outcome, to, probation, state in cases:
        got = lines[eid]
        assert (got["outcome"], got["to_grade"], got["probation"], got["state"]) == (
            outcome,
            SUPPORT[to],
            probation,
            state,
        ), eid


def test_a_cs_rating_half_year_rates_notifies_and_records(cli):
    cases = [
        ("R1", "中级", "69.99", "demoted", "初级", None),
        ("R2", "初级", "90", "promoted", "优秀", None),
        ("R3", "高级", "85", "unchanged", "高级", None),
        ("R4", "中级", "59.99", "unchanged", "中级", "below_standard"),
        ("R5", "中级", "70", "unchanged", "中级", None),
    ]
    employees = [[c[0], "cs_rating", c[1], "2025-01-01"] for c in cases]
    metrics = [[c[0], "2026H2", "score", c[2]] for c in cases]
    cli.load(employees, metrics)
    cycle = "cs_rating-2026H2"
    cli("cycle", "open", cycle, "--now", "2027-01-08T09:00+08:00")
    cli("cycle", "advance", cycle, "--now", "2027-01-20T09:00+08:00")
    lines = cli.decisions(cycle)
    for eid, _, _, outcome, to, review in cases:
        got = lines[eid]
        assert (got["outcome"], got["to_grade"], got["review"]) == (outcome, to, review), eid
    status = json.loads(cli("cycle", "status", cycle, "--json"))
    assert status["notices"] == {"pending": 5}  # every rating is notified (personnel record)
