"""Workbooks that lie about themselves (issue 22): a declared dimension is ignored, a zip
bomb and an over-wide sheet are refused before they cost memory, and broken or DTD-laden
XML is a bad file, never a traceback. The bombs are built here, not committed."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook

from promoflow.engine.imports import xlsx
from promoflow.engine.imports.reader import read_table
from promoflow.errors import InputError

SHEET = "xl/worksheets/sheet1.xml"


def _workbook(rows: int = 5) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["employee_id", "period", "metric", "value"])
    for i in range(1, rows + 1):
        sheet.append([f"E{i:04d}", "2026Q3", "score", 80 + i])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewrite(data: bytes, part: str, change) -> bytes:
    """The workbook with one part's XML passed through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == part:
                body = change(body.decode()).encode()
            target.writestr(info.filename, body)
    return out.getvalue()


def _dimension(ref: str):
    return lambda xml: re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>', xml)


def _read(tmp_path, data: bytes, name: str = "metrics.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return read_table(path)


def test_a_declared_dimension_smaller_than_the_data_loses_no_row(tmp_path):
    table = _read(tmp_path, _rewrite(_workbook(5), SHEET, _dimension("A1:D2")))
    assert [row.cells["employee_id"] for row in table] == [f"E{i:04d}" for i in range(1, 6)]


def test_a_declared_dimension_of_the_whole_grid_is_not_padded(tmp_path):
    table = _read(tmp_path, _rewrite(_workbook(5), SHEET, _dimension("A1:XFD1048576")))
    assert len(table) == 5
    assert table.header == ["employee_id", "period", "metric", "value"]


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_UNCOMPRESSED", 8 * 2**20)
    padding = " " * (9 * 2**20)  # XML whitespace: inflates to 9 MiB, stored in a few KB

    def pad(xml: str) -> str:
        return xml.replace("<sheetData>", f"<sheetData>{padding}", 1)

    bomb = _rewrite(_workbook(1), SHEET, pad)
    assert len(bomb) < 100_000
    with pytest.raises(InputError, match=r"metrics.xlsx is refused: it unpacks to 9 MiB"):
        _read(tmp_path, bomb)


def test_cells_far_to_the_right_are_refused_not_padded_forever(tmp_path):
    def far(xml: str) -> str:
        return xml.replace("</row>", '<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>', 2)

    with pytest.raises(InputError, match=r"row 1 has 16,384 columns \(at most 256\)"):
        _read(tmp_path, _rewrite(_workbook(3), SHEET, far))


def test_too_many_cells_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_CELLS", 10)
    with pytest.raises(InputError, match="more than 10 cells"):
        _read(tmp_path, _workbook(5))


def test_a_sheet_with_a_dtd_is_a_bad_file(tmp_path):
    def dtd(xml: str) -> str:
        return f'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>{xml}'

    with pytest.raises(InputError, match="refused: it holds an XML"):
        _read(tmp_path, _rewrite(_workbook(2), SHEET, dtd))


@pytest.mark.parametrize("seed", range(12))
def test_a_bit_flipped_workbook_is_a_bad_file_or_reads(tmp_path, seed):
    data = bytearray(_workbook(20))
    # flip bits inside the deflated sheet, where a flip breaks XML rather than the zip
    start = data.find(SHEET.encode()) + len(SHEET) + 40
    for k in range(3):
        data[start + 17 * seed + 5 * k] ^= 1 << (seed + k) % 8
    try:
        _read(tmp_path, bytes(data))
    except InputError as exc:
        assert "metrics.xlsx" in str(exc)
        assert "\n" not in str(exc)
