"""The imports' quick paths accept exactly what the full row checks accept, with the same values.

Employees and metrics take plainly valid rows from cached lookups (metrics: whole columns at
once) and leave every other row to the full check, which words the problems. These tests
hold the quick paths to the full ones: a row the quick path takes must be one the full
check passes, with the same values; the CSV reader's no-strip path must read what the
stripping path reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import combinations, product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoflow.engine.imports import employees, metrics
from promoflow.engine.imports.base import ImportContext
from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.imports.problems import RowErrors
from promoflow.engine.imports.reader import Row, build_table, read_table

NOW = datetime(2026, 10, 1, tzinfo=UTC)
CATALOG = Catalog.bundled()

#: cells to combine: valid, invalid and empty values of each column
POOLS = {
    "employee_id": ["E1", ""],
    "name": ["张三", ""],
    "track": ["sales", "nosuch", ""],
    "grade": ["S5", "S13", "S99", ""],
    "grade_since": ["2025-10-01", "2026-02-30", ""],
    "hire_date": ["2026/01/01", "soon", ""],
    "org_unit": ["east", ""],
    "position": ["sales_rep", "Senior Sales Rep", "高级销售代表", "nope", ""],
}


def _context(header: list[str], records: list[list[str]], catalog: Catalog | None = None):
    table = build_table("t.csv", "0" * 64, header, records)
    return ImportContext(
        session=None,  # type: ignore[arg-type] # the row checks read no database
        table=table,
        kind="test",
        now=NOW,
        actor="test",
        errors=RowErrors("t.csv"),
        given_catalog=catalog or CATALOG,
    )


@pytest.mark.parametrize(
    "optional",
    [
        tuple(c for c in employees.OPTIONAL if c in chosen)
        for n in range(len(employees.OPTIONAL) + 1)
        for chosen in combinations(employees.OPTIONAL, n)
    ],
)
def test_an_employee_row_the_quick_check_takes_passes_the_full_check_with_the_same_values(
    optional,
):
    header = [*employees.COLUMNS, *optional]
    records = [list(cells) for cells in product(*(POOLS[c] for c in header))]
    ctx = _context(header, records)
    checker = employees._Checker(ctx)
    taken = 0
    for line, record in zip(ctx.table.lines, ctx.table.records, strict=True):
        quick = checker.row(line, record)
        if quick is None:
            continue  # left to the full check, which words whatever is wrong
        taken += 1
        full = employees._validate_row(ctx, Row(line, dict(zip(header, record, strict=True))))
        assert not ctx.errors, (record, [p.message for p in ctx.errors.problems])
        slow = employees._from_dict(line, full)
        assert (quick.employee_id, quick.values, quick.entry_position) == (
            slow.employee_id,
            slow.values,
            slow.entry_position,
        ), record
    assert taken  # the quick check does take rows


def test_the_quick_check_takes_the_common_employee_rows():
    header = [*employees.COLUMNS, *employees.OPTIONAL]
    records = [
        ["E1", "张三", "sales", "S5", "2025-10-01", "2024-03-15", "east", ""],
        ["E2", "李四", "sales", "", "", "2026-01-01", "east", "sales_rep"],
    ]
    ctx = _context(header, records)
    checker = employees._Checker(ctx)
    assert all(checker.row(2, r) is not None for r in ctx.table.records)


def _metric_plan(records: list[list[str]]):
    ctx = _context(list(metrics.COLUMNS), records)
    check = metrics._Validator(ctx, metrics.Plan())
    return ctx, check


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["E1", "E2", ""]),
            st.sampled_from(["2026Q3", "2026-07", "2026Q9", ""]),
            st.sampled_from(["score", "sales_actual", "nosuch", ""]),
            st.sampled_from(["85.5", "100", "100.5", "1200000", "8e1", "-1", "x", "", "0.1234567"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_metrics_taken_whole_are_those_the_row_checks_take(rows):
    records = [list(r) for r in rows]
    ctx, check = _metric_plan(records)
    columns = [list(c) for c in zip(*records, strict=True)]
    whole = metrics._whole(check, check.plan, ctx.table.lines, *columns)
    if not whole:
        assert not check.plan.values and not ctx.errors
        return
    ctx2, check2 = _metric_plan(records)
    for line, record in zip(ctx2.table.lines, ctx2.table.records, strict=True):
        check2.full(line, *record)
    assert not ctx2.errors, [p.message for p in ctx2.errors.problems]
    plan, plan2 = check.plan, check2.plan
    columns = ("employee_ids", "period_ids", "metrics", "values")
    assert [list(getattr(plan, c)) for c in columns] == [getattr(plan2, c) for c in columns]
    assert list(plan.lines) == list(plan2.lines)
    assert plan.index() == plan2.groups


def test_a_plain_metrics_file_is_taken_whole():
    records = [["E1", "2026Q3", "score", "85.5"], ["E1", "2026Q3", "sales_actual", "1200000"]]
    ctx, check = _metric_plan(records)
    columns = [list(c) for c in zip(*records, strict=True)]
    assert metrics._whole(check, check.plan, ctx.table.lines, *columns)
    assert check.plan.values == [Decimal("85.5"), Decimal("1200000")]


def test_a_csv_with_no_space_reads_as_one_that_needed_stripping(tmp_path):
    plain = "employee_id,name,value\nE1,张三,80\n\nE2,李四,85.5,extra\nE3\n"
    spaced = 'employee_id , name,value\n E1,"张三\u3000",80 \n\n E2 ,李四,85.5,extra \nE3\n'
    (tmp_path / "plain.csv").write_text(plain, encoding="utf-8")
    (tmp_path / "spaced.csv").write_text(spaced, encoding="utf-8")
    rows = [
        [(r.line, r.cells, r.extra) for r in read_table(tmp_path / name)]
        for name in ("plain.csv", "spaced.csv")
    ]
    assert rows[0] == rows[1]
    assert rows[0][1] == (4, {"employee_id": "E2", "name": "李四", "value": "85.5"}, ("extra",))
    assert rows[0][2] == (5, {"employee_id": "E3", "name": "", "value": ""}, ())
