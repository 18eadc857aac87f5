"""Reading import files: CSV with or without BOM and XLSX give the same rows; cell parsing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from promoflow.engine.imports.base import parse_date, parse_decimal, plain
from promoflow.engine.imports.reader import cell_text, read_table
from promoflow.errors import InputError

HEADER = ["employee_id", "name", "grade_since", "value"]


def _rows(table):
    return [(row.line, row.cells, row.extra) for row in table]


def test_csv_with_and_without_bom_and_xlsx_read_to_the_same_rows(tmp_path):
    text = "employee_id,name,grade_since,value\nE1,张三,2025-10-01,80\n\nE2,李四,2026-01-01,85.5\n"
    (tmp_path / "plain.csv").write_text(text, encoding="utf-8")
    (tmp_path / "bom.csv").write_text(text, encoding="utf-8-sig")
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["E1", "张三", datetime(2025, 10, 1), 80.0])
    sheet.append([None, None, None, None])
    sheet.append(["E2", "李四", date(2026, 1, 1), 85.5])
    book.save(tmp_path / "sheet.xlsx")
    plain_rows = _rows(read_table(tmp_path / "plain.csv"))
    assert plain_rows == _rows(read_table(tmp_path / "bom.csv"))
    assert plain_rows == _rows(read_table(tmp_path / "sheet.xlsx"))
    assert plain_rows[1] == (
        4,  # the blank line 3 is skipped but still counted
        {"employee_id": "E2", "name": "李四", "grade_since": "2026-01-01", "value": "85.5"},
        (),
    )


def test_the_header_of_a_bom_file_has_no_stray_character(tmp_path):
    (tmp_path / "bom.csv").write_text("employee_id,name\nE1,x\n", encoding="utf-8-sig")
    assert read_table(tmp_path / "bom.csv").header == ["employee_id", "name"]


def test_cells_are_stripped_and_short_rows_padded(tmp_path):
    (tmp_path / "f.csv").write_text("a,b,c\n  x , y\n", encoding="utf-8")
    [row] = read_table(tmp_path / "f.csv").rows
    assert row.cells == {"a": "x", "b": "y", "c": ""}


def test_cells_beyond_the_header_are_kept_as_extra(tmp_path):
    (tmp_path / "f.csv").write_text("a,b\n1,2,3,\n", encoding="utf-8")
    [row] = read_table(tmp_path / "f.csv").rows
    assert row.extra == ("3",)


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    (tmp_path / "f.csv").write_text("a,b,a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_table(tmp_path / "f.csv")
    assert [str(p) for p in caught.value.problems] == [
        "f.csv, line 1, column a: column 'a' appears twice"
    ]


def test_an_empty_file_and_a_missing_file_are_refused(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="cannot read"):
        read_table(tmp_path / "absent.csv")


def test_a_broken_workbook_is_refused(tmp_path):
    (tmp_path / "broken.xlsx").write_bytes(b"PK not really a zip")
    with pytest.raises(InputError, match=r"not a readable \.xlsx"):
        read_table(tmp_path / "broken.xlsx")


def test_gbk_text_is_refused_naming_the_line(tmp_path):
    (tmp_path / "gbk.csv").write_bytes("a\nok\n张三\n".encode("gbk"))
    with pytest.raises(InputError) as caught:
        read_table(tmp_path / "gbk.csv")
    assert caught.value.problems[0].line == 3


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (80.0, "80"),
        (85.5, "85.5"),
        (0.1, "0.1"),
        (1001, "1001"),
        (datetime(2025, 10, 1), "2025-10-01"),
        (datetime(2025, 10, 1, 9, 30), "2025-10-01T09:30:00"),
        (date(2025, 10, 1), "2025-10-01"),
        (True, "true"),
        ("张三", "张三"),
    ],
)
def test_an_xlsx_cell_reads_as_the_text_a_csv_would_hold(value, text):
    assert cell_text(value) == text


@given(st.decimals(min_value=-(10**8), max_value=10**8, places=6, allow_nan=False))
def test_a_decimal_with_at_most_6_places_parses_exactly(value):
    assert parse_decimal(str(value)) == value


@given(st.floats(min_value=0, max_value=10**8, allow_nan=False, allow_infinity=False))
def test_a_float_cell_parses_to_the_decimal_of_its_shortest_repr(value):
    text = cell_text(value)
    try:
        parsed = parse_decimal(text)
    except ValueError as exc:
        assert "decimal places" in str(exc)
    else:
        assert parsed == Decimal(repr(value))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "is not a number"),
        ("NaN", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("1.0000001", "more than 6 decimal places"),
        ("1e20", "too large"),
        ("1,5", "is not a number"),
        ("80%", "is not a number"),
    ],
)
def test_a_value_that_cannot_be_stored_exactly_is_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_decimal(text)


def test_trailing_zeros_beyond_6_places_are_harmless_and_minus_zero_is_zero():
    assert parse_decimal("80.50000000") == Decimal("80.5")
    assert str(parse_decimal("-0")) == "0"


def test_plain_drops_the_trailing_zeros_of_the_stored_scale():
    assert str(plain(Decimal("85.500000"))) == "85.5"
    assert str(plain(Decimal("100.000000"))) == "100"


@pytest.mark.parametrize("text", ["2025-10-01", "2025/10/01", "2025-1-5", "2025.10.01"])
def test_dates_are_read_as_excel_in_chinese_writes_them(text):
    assert parse_date(text) in (date(2025, 10, 1), date(2025, 1, 5))


@pytest.mark.parametrize("text", ["2025-02-30", "01/10/2025", "20251001", "yesterday"])
def test_bad_dates_are_refused(text):
    with pytest.raises(ValueError, match="bad date"):
        parse_date(text)
