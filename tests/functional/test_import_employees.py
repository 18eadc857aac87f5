"""Importing employees: upsert by id, grade history, entry grading, and every refusal."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from promoflow.engine.storage.models import AuditEvent, Employee, GradeHistory, ImportRun
from tests.functional.import_files import (
    EMPLOYEE_HEADER,
    EMPLOYEES,
    LATER,
    counts,
    do_import,
    messages,
    refused,
    write_csv,
)


def _employees(rt) -> dict[str, Employee]:
    with rt.sessions() as session:
        return {e.employee_id: e for e in session.scalars(select(Employee))}


def _history(rt, employee_id: str) -> list[GradeHistory]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(GradeHistory)
                .where(GradeHistory.employee_id == employee_id)
                .order_by(GradeHistory.id)
            )
        )


def test_a_new_file_creates_every_employee_with_an_initial_grade_history(rt, tmp_path):
    report = do_import(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, EMPLOYEES))
    assert (report.rows, report.changed) == (3, 3)
    people = _employees(rt)
    assert people["E0001"].grade == "S5"
    assert people["E0001"].grade_since == date(2025, 10, 1)
    assert people["E0001"].position == "junior_sales_rep"  # derived from the grade
    assert people["E0003"].track == "cs"
    [first] = _history(rt, "E0001")
    assert (first.grade, first.previous_grade, first.source) == ("S5", None, "import")
    assert first.effective_from == date(2025, 10, 1)


def test_reimporting_the_same_file_changes_nothing_and_only_records_the_import(rt, tmp_path):
    path = write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, EMPLOYEES)
    do_import(rt, "employees", path)
    before = counts(rt)
    report = do_import(rt, "employees", path, now=LATER)
    after = counts(rt)
    assert report.changed == 0
    assert after["imports"] == before["imports"] + 1
    assert after["audit_events"] == before["audit_events"] + 1  # the `import` event alone
    assert {k: v for k, v in after.items() if k not in ("imports", "audit_events")} == {
        k: v for k, v in before.items() if k not in ("imports", "audit_events")
    }
    with rt.sessions() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last.kind == "import" and last.after["changed"] == 0


def test_a_changed_grade_on_reimport_writes_grade_history_and_a_grade_change_event(rt, tmp_path):
    do_import(rt, "employees", write_csv(tmp_path / "a.csv", EMPLOYEE_HEADER, EMPLOYEES))
    promoted = [list(r) for r in EMPLOYEES]
    promoted[0][3:5] = ["S6", "2026-10-01"]
    promoted[1][1] = "李四四"  # a renamed employee: upsert, no grade history
    report = do_import(rt, "employees", write_csv(tmp_path / "b.csv", EMPLOYEE_HEADER, promoted))
    assert report.changed == 2
    assert report.details["grade_changes"] == 1
    people = _employees(rt)
    assert (people["E0001"].grade, people["E0001"].position) == ("S6", "sales_rep")
    assert people["E0002"].name == "李四四"
    old, new = _history(rt, "E0001")
    assert (old.grade, old.source) == ("S5", "import")
    assert (new.previous_grade, new.grade, new.effective_from) == ("S5", "S6", date(2026, 10, 1))
    assert len(_history(rt, "E0002")) == 1
    with rt.sessions() as session:
        changes = session.scalars(select(AuditEvent).where(AuditEvent.kind == "grade_change")).all()
    assert [(c.employee_id, c.before["grade"], c.after["grade"]) for c in changes] == [
        ("E0001", "S5", "S6")
    ]


def test_an_empty_grade_with_a_position_gets_the_lowest_grade_of_that_position(rt, tmp_path):
    rows = [
        ["N0001", "赵六", "sales", "", "", "2026-09-01", "east", "中级销售代表"],
        [
            "N0002",
            "钱七",
            "sales",
            "",
            "2026-09-15",
            "2026-09-01",
            "east",
            "senior sales representative",
        ],
        ["N0003", "孙八", "cs", "", "", "2026-08-01", "cs-beijing", "key_account_rep"],
    ]
    report = do_import(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows))
    assert report.details["entry_graded"] == 3
    people = _employees(rt)
    assert (people["N0001"].grade, people["N0001"].position) == ("S6", "sales_rep")
    assert people["N0001"].grade_since == date(2026, 9, 1)  # hire date when no grade_since
    assert people["N0002"].grade == "S8"
    assert people["N0002"].grade_since == date(2026, 9, 15)
    assert people["N0003"].grade == "大客户客服代表·中级"
    [entry] = _history(rt, "N0001")
    assert entry.source == "entry_grading"
    assert "S6" in entry.reason and "sales_rep" in entry.reason
    with rt.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.kind == "grade_change", AuditEvent.employee_id == "N0001"
            )
        ).all()
    assert len(events) == 1 and "entry grading" in events[0].reason


def test_reimporting_an_entry_graded_employee_keeps_the_grade_he_holds_now(rt, tmp_path):
    rows = [["N0001", "赵六", "sales", "", "", "2026-09-01", "east", "中级销售代表"]]
    path = write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows)
    do_import(rt, "employees", path)
    assert do_import(rt, "employees", path).changed == 0
    assert len(_history(rt, "N0001")) == 1


def test_a_grade_that_contradicts_the_position_is_refused(rt, tmp_path):
    rows = [["E0001", "张三", "sales", "S5", "2025-10-01", "", "east", "销售主管"]]
    error = refused(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows))
    assert messages(error) == [
        "e.csv, line 2, column position: grade S5 belongs to position junior_sales_rep, "
        "not sales_supervisor"
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ["E9", "甲", "marketing", "S5", "2025-10-01", "", "east", ""],
            "column track: unknown track 'marketing': known tracks are cs, cs_assistant, "
            "cs_rating, sales, support",
        ),
        (
            ["E9", "甲", "sales", "S14", "2025-10-01", "", "east", ""],
            "column grade: unknown grade 'S14' for track sales (S3 … S13)",
        ),
        (
            ["E9", "甲", "sales", "S5", "2025-13-01", "", "east", ""],
            "column grade_since: bad date '2025-13-01': no such day",
        ),
        (
            ["E9", "甲", "sales", "S5", "2025-10-01", "15/03/2024", "east", ""],
            "column hire_date: bad date '15/03/2024': use YYYY-MM-DD, e.g. 2025-10-01",
        ),
        (
            ["", "甲", "sales", "S5", "2025-10-01", "", "east", ""],
            "column employee_id: missing required field employee_id",
        ),
        (
            ["E9", "", "sales", "S5", "2025-10-01", "", "east", ""],
            "column name: missing required field name",
        ),
        (
            ["E9", "甲", "sales", "S5", "", "", "east", ""],
            "column grade_since: missing required field grade_since",
        ),
        (
            ["E9", "甲", "sales", "", "2025-10-01", "", "east", ""],
            "column grade: missing required field grade: give a grade, or a position for "
            "entry grading",
        ),
        (
            ["E9", "甲", "sales", "", "", "2025-10-01", "east", "总监"],
            "column position: unknown position '总监' for track sales (positions: "
            "junior_sales_rep, sales_rep, senior_sales_rep, sales_supervisor, sales_manager)",
        ),
        (
            ["E9", "甲", "sales", "", "", "", "east", "中级销售代表"],
            "column grade_since: missing required field grade_since (or hire_date) for "
            "entry grading",
        ),
        (
            ["E9", "甲", "sales", "S5", "2025-10-01", "", "east", "", "shifted"],
            ": more cells than the header's 8 columns (a shifted row?): 'shifted'",
        ),
    ],
    ids=[
        "unknown-track",
        "unknown-grade",
        "bad-date",
        "bad-hire-date",
        "missing-id",
        "missing-name",
        "missing-grade-since",
        "missing-grade-and-position",
        "unknown-position",
        "entry-grading-without-a-date",
        "shifted-row",
    ],
)
def test_each_bad_employee_row_is_refused_with_its_line_column_and_reason(
    rt, tmp_path, row, expected
):
    rows = [*EMPLOYEES, row]
    error = refused(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows))
    separator = "" if expected.startswith(":") else ", "
    assert messages(error) == [f"e.csv, line 5{separator}{expected}"]
    assert str(error) == "e.csv: 1 bad row; nothing was imported"
    assert error.exit_code == 2


def test_a_duplicate_employee_id_names_both_lines(rt, tmp_path):
    rows = [*EMPLOYEES, ["E0002", "李四", "sales", "S9", "2026-01-01", "", "west", ""]]
    error = refused(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows))
    assert messages(error) == [
        "e.csv, line 5, column employee_id: duplicate employee_id 'E0002' (first at line 3)"
    ]


def test_every_bad_row_is_listed_not_just_the_first(rt, tmp_path):
    rows = [
        ["E1", "甲", "sales", "S99", "2025-10-01", "", "", ""],
        ["E2", "乙", "sales", "S5", "2025-10-01", "", "", ""],
        ["E3", "丙", "nope", "S5", "yesterday", "", "", ""],
    ]
    error = refused(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows))
    assert [(p.line, p.column) for p in error.problems] == [
        (2, "grade"),
        (4, "track"),
        (4, "grade_since"),
    ]
    assert str(error) == "e.csv: 2 bad rows; nothing was imported"


def test_a_missing_header_column_refuses_the_file(rt, tmp_path):
    header = [c for c in EMPLOYEE_HEADER if c != "track"]
    rows = [[v for i, v in enumerate(r) if i != 2] for r in EMPLOYEES]
    error = refused(rt, "employees", write_csv(tmp_path / "e.csv", header, rows))
    assert messages(error) == ["e.csv, line 1, column track: missing column 'track' in the header"]


def test_a_refused_reimport_leaves_the_stored_employees_untouched(rt, tmp_path):
    do_import(rt, "employees", write_csv(tmp_path / "a.csv", EMPLOYEE_HEADER, EMPLOYEES))
    changed = [list(r) for r in EMPLOYEES]
    changed[0][3] = "S7"  # a good change …
    changed[2][2] = "cafeteria"  # … next to a bad row
    refused(rt, "employees", write_csv(tmp_path / "b.csv", EMPLOYEE_HEADER, changed))
    assert _employees(rt)["E0001"].grade == "S5"
    with rt.sessions() as session:
        assert session.scalars(select(ImportRun.file_name)).all() == ["a.csv"]


BAD_CELLS = {
    "employee_id": st.just(""),
    "name": st.just(""),
    "track": st.sampled_from(["", "Sales", "marketing", "cs_ops"]),
    "grade": st.sampled_from(["S2", "S14", "s5", "高级", "5"]),
    "grade_since": st.sampled_from(["", "2025-02-30", "2025-13-01", "10/01/2025", "soon"]),
    "hire_date": st.sampled_from(["2025-00-10", "yesterday", "2025/02/29"]),
    "position": st.sampled_from(["总监", "销售主管"]),  # unknown, or contradicting S5
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), position=st.integers(min_value=0, max_value=3))
def test_any_malformed_employee_row_is_refused_and_nothing_is_written(rt, tmp_path, data, position):
    column = data.draw(st.sampled_from(sorted(BAD_CELLS)))
    row = ["E0100", "新人", "sales", "S5", "2025-10-01", "2024-01-01", "east", ""]
    row[EMPLOYEE_HEADER.index(column)] = data.draw(BAD_CELLS[column])
    rows = [*EMPLOYEES]
    rows.insert(position, row)
    error = refused(rt, "employees", write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, rows))
    assert {p.line for p in error.problems} == {position + 2}
    assert _employees(rt) == {}
