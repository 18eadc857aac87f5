"""Importing metrics: inserts, revisions kept, idempotence, periods, and every refusal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.imports.metrics import METRICS as METRIC_NAMES
from promoflow.engine.storage.models import AuditEvent, Metric, MetricRevision, Period
from tests.functional.import_files import (
    EMPLOYEE_HEADER,
    EMPLOYEES,
    LATER,
    METRIC_HEADER,
    METRICS,
    counts,
    do_import,
    messages,
    refused,
    write_csv,
    write_xlsx,
)


@pytest.fixture
def staffed(rt, tmp_path):
    """A database holding the three employees of EMPLOYEES."""
    do_import(rt, "employees", write_csv(tmp_path / "employees.csv", EMPLOYEE_HEADER, EMPLOYEES))
    return rt


def _values(rt) -> dict[tuple[str, str, str], Decimal]:
    with rt.sessions() as session:
        return {
            (m.employee_id, m.period_id, m.metric): m.value for m in session.scalars(select(Metric))
        }


def test_metric_rows_are_stored_as_exact_decimals_with_their_periods(staffed, tmp_path):
    report = do_import(staffed, "metrics", write_csv(tmp_path / "m.csv", METRIC_HEADER, METRICS))
    assert (report.rows, report.changed) == (5, 5)
    values = _values(staffed)
    assert values[("E0001", "2026Q3", "score")] == Decimal("85.5")
    assert values[("E0003", "2026-07", "return_visit")] == Decimal("66.8")
    with staffed.sessions() as session:
        periods = {p.period_id: (p.kind, p.starts, p.ends) for p in session.scalars(select(Period))}
    assert periods == {
        "2026Q3": ("quarter", date(2026, 7, 1), date(2026, 9, 30)),
        "2026Q2": ("quarter", date(2026, 4, 1), date(2026, 6, 30)),
        "2026-07": ("month", date(2026, 7, 1), date(2026, 7, 31)),
    }


def test_reimporting_the_same_metrics_changes_nothing(staffed, tmp_path):
    path = write_csv(tmp_path / "m.csv", METRIC_HEADER, METRICS)
    do_import(staffed, "metrics", path)
    before = counts(staffed)
    report = do_import(staffed, "metrics", path, now=LATER)
    after = counts(staffed)
    assert report.changed == 0
    assert after == {
        **before,
        "imports": before["imports"] + 1,
        "audit_events": before["audit_events"] + 1,
    }


def test_a_changed_value_replaces_the_old_one_and_keeps_a_revision(staffed, tmp_path):
    do_import(staffed, "metrics", write_csv(tmp_path / "a.csv", METRIC_HEADER, METRICS))
    revised = [list(r) for r in METRICS]
    revised[0][3] = "79.99"
    report = do_import(
        staffed, "metrics", write_csv(tmp_path / "b.csv", METRIC_HEADER, revised), now=LATER
    )
    assert (report.changed, report.details) == (1, {"inserted": 0, "revised": 1})
    assert _values(staffed)[("E0001", "2026Q3", "score")] == Decimal("79.99")
    with staffed.sessions() as session:
        [revision] = session.scalars(select(MetricRevision)).all()
        assert (revision.old_value, revision.new_value) == (Decimal("85.5"), Decimal("79.99"))
        assert revision.changed_at == LATER
        assert revision.import_id == report.import_id
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "metric_revision")
        ).all()
        assert event.employee_id == "E0001"
        assert (event.before["value"], event.after["value"]) == ("85.5", "79.99")
    # revising it back keeps both revisions, oldest first
    do_import(staffed, "metrics", write_csv(tmp_path / "c.csv", METRIC_HEADER, METRICS))
    with staffed.sessions() as session:
        history = session.execute(
            select(MetricRevision.old_value, MetricRevision.new_value).order_by(MetricRevision.id)
        ).all()
    assert history == [(Decimal("85.5"), Decimal("79.99")), (Decimal("79.99"), Decimal("85.5"))]


def test_the_same_sheet_as_xlsx_and_as_csv_imports_the_same_values(staffed, tmp_path):
    sheet = [
        ["E0001", "2026Q3", "score", 80],  # Excel keeps numbers as floats: 80.0
        ["E0001", "2026Q3", "sales_actual", 120000.55],
        ["E0002", "2026-07", "score", 85.5],
        [1001, "2026Q2", "score", 0.1],  # a numeric id: refused the same way below
    ]
    as_text = [[str(v) for v in row] for row in sheet[:3]]
    write_csv(tmp_path / "m.csv", METRIC_HEADER, as_text)
    write_xlsx(tmp_path / "m.xlsx", METRIC_HEADER, sheet[:3])
    first = do_import(staffed, "metrics", tmp_path / "m.csv")
    stored = _values(staffed)
    second = do_import(staffed, "metrics", tmp_path / "m.xlsx")
    assert (first.changed, second.changed) == (3, 0)  # the workbook holds the same values
    assert _values(staffed) == stored
    assert stored[("E0001", "2026Q3", "score")] == Decimal("80")
    assert stored[("E0001", "2026Q3", "sales_actual")] == Decimal("120000.55")
    # and a bad workbook is refused exactly as the same bad CSV is
    write_xlsx(tmp_path / "bad.xlsx", METRIC_HEADER, sheet)
    write_csv(tmp_path / "bad.csv", METRIC_HEADER, [[str(v) for v in r] for r in sheet])
    from_xlsx = refused(staffed, "metrics", tmp_path / "bad.xlsx")
    from_csv = refused(staffed, "metrics", tmp_path / "bad.csv")
    assert [m.replace("bad.xlsx", "bad.csv") for m in messages(from_xlsx)] == messages(from_csv)
    assert messages(from_csv) == [
        "bad.csv, line 5, column employee_id: unknown employee '1001': import employees first"
    ]


def test_a_csv_with_a_byte_order_mark_reads_like_one_without(staffed, tmp_path):
    write_csv(tmp_path / "bom.csv", METRIC_HEADER, METRICS, bom=True)
    write_csv(tmp_path / "plain.csv", METRIC_HEADER, METRICS)
    assert do_import(staffed, "metrics", tmp_path / "bom.csv").changed == 5
    assert do_import(staffed, "metrics", tmp_path / "plain.csv").changed == 0


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ["E0001", "2026Q4", "score", "eighty"],
            "column value: non-numeric value: 'eighty' is not a number",
        ),
        (
            ["E0001", "2026Q4", "score", "NaN"],
            "column value: non-numeric value: 'NaN' is not a finite number",
        ),
        (
            ["E0001", "2026Q4", "score", "80.1234567"],
            "column value: non-numeric value: '80.1234567' has more than 6 decimal places",
        ),
        (
            ["E0001", "2026Q4", "sales_actual", "-5"],
            "column value: negative value -5: metrics are ≥ 0",
        ),
        (["E0001", "2026Q4", "score", "100.5"], "column value: score 100.5 is above 100"),
        (
            ["E9999", "2026Q3", "score", "80"],
            "column employee_id: unknown employee 'E9999': import employees first",
        ),
        (
            ["E0001", "2026Q5", "score", "80"],
            "column period: unknown period form '2026Q5': use a month (2026-07), quarter "
            "(2026Q3) or half (2026H2)",
        ),
        (
            ["E0001", "Q3-2026", "score", "80"],
            "column period: unknown period form 'Q3-2026': use a month (2026-07), quarter "
            "(2026Q3) or half (2026H2)",
        ),
        (
            ["E0001", "2026Q3", "happiness", "80"],
            "column metric: unknown metric 'happiness': known metrics are ",
        ),
        (["E0001", "2026Q4", "score", ""], "column value: missing required field value"),
        (["E0001", "", "score", "80"], "column period: missing required field period"),
        (
            ["E0001", "2026Q3", "score", "85.5"],
            "column metric: duplicate row for E0001 2026Q3 score (first at line 2)",
        ),
    ],
    ids=[
        "non-numeric",
        "not-finite",
        "too-many-decimals",
        "negative",
        "score-above-100",
        "unknown-employee",
        "unknown-quarter",
        "unknown-period-form",
        "unknown-metric",
        "missing-value",
        "missing-period",
        "duplicate-row",
    ],
)
def test_each_bad_metric_row_is_refused_with_its_line_column_and_reason(
    staffed, tmp_path, row, expected
):
    error = refused(
        staffed, "metrics", write_csv(tmp_path / "m.csv", METRIC_HEADER, [*METRICS, row])
    )
    [message] = messages(error)
    assert message.startswith(f"m.csv, line 7, {expected}")
    assert str(error) == "m.csv: 1 bad row; nothing was imported"


def test_an_unknown_employee_is_listed_on_every_line_that_names_him(staffed, tmp_path):
    rows = [*METRICS, ["E7", "2026Q3", "score", "80"], ["E7", "2026Q2", "score", "70"]]
    error = refused(staffed, "metrics", write_csv(tmp_path / "m.csv", METRIC_HEADER, rows))
    assert [p.line for p in error.problems] == [7, 8]


def test_a_file_that_is_not_utf8_is_refused_with_a_hint(staffed, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("employee_id,period,metric,value\nE0001,2026Q3,分数,80\n".encode("gbk"))
    error = refused(staffed, "metrics", path)
    assert "is not UTF-8" in str(error) and "CSV UTF-8" in str(error)


# --- any malformed row is refused, and nothing is written (STYLE.md) -------------------

GOOD_ROWS = [
    ["E0001", "2026Q3", "score", "85.5"],
    ["E0002", "2026-08", "sales_target", "100000"],
    ["E0003", "2026H2", "knowledge", "70"],
]
KNOWN_METRICS = METRIC_NAMES | Catalog.bundled().metric_names()
BAD_VALUES = ["", "x", "1e999", "-0.5", "inf", "1,5", "101", "0.0000001", "80%"]
BAD_PERIODS = ["", "2026Q0", "2026-00", "2026-13", "2026H3", "26Q3", "2026 Q3"]
MALFORMED = st.one_of(
    st.tuples(st.just("value"), st.sampled_from(BAD_VALUES)),
    st.tuples(st.just("period"), st.sampled_from(BAD_PERIODS)),
    st.tuples(
        st.just("metric"),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8).filter(
            lambda s: s.strip() not in KNOWN_METRICS
        ),
    ),
    st.tuples(st.just("employee_id"), st.sampled_from(["", "E404", "e0001"])),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bad=MALFORMED, position=st.integers(min_value=0, max_value=3))
def test_any_malformed_metric_row_is_refused_and_nothing_is_written(
    staffed, tmp_path, bad, position
):
    column, text = bad
    row = ["E0001", "2026-09", "score", "80"]  # a good row with a key no other row uses
    row[METRIC_HEADER.index(column)] = text
    rows = [*GOOD_ROWS]
    rows.insert(position, row)
    error = refused(staffed, "metrics", write_csv(tmp_path / "m.csv", METRIC_HEADER, rows))
    assert {p.line for p in error.problems} == {position + 2}
    assert _values(staffed) == {}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.decimals(min_value=0, max_value=10**8, places=6, allow_nan=False),
        min_size=1,
        max_size=6,
    )
)
def test_any_valid_value_is_stored_exactly_and_reimports_as_unchanged(staffed, tmp_path, values):
    rows = [["E0002", f"2025-{i + 1:02d}", "sales_actual", str(v)] for i, v in enumerate(values)]
    path = write_csv(tmp_path / "m.csv", METRIC_HEADER, rows)
    do_import(staffed, "metrics", path)
    stored = _values(staffed)
    for i, v in enumerate(values):
        assert stored[("E0002", f"2025-{i + 1:02d}", "sales_actual")] == v
    assert do_import(staffed, "metrics", path).changed == 0
