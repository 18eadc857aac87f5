"""CSV and XLSX downloads of tables (case tables, audit events), built in chunks.

Text cells go through :func:`promoflow.csvcell.csv_cell` (the rule every CSV the product
writes follows): one that starts with a formula sign gets a leading quote, so a spreadsheet
never runs a name as a formula. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook

from promoflow.csvcell import csv_cell
from promoflow.engine.bootstrap import Runtime


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, (int, float, bool)):
        return value
    return csv_cell(value)


def _csv_lines(columns: list[str], rows: Iterable[dict], batch: int = 2000) -> Iterator[str]:
    """CSV text in blocks of ``batch`` rows (one block per hop to the event loop, not one row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(row.get(c)) for c in columns])
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def streamed(runtime: Runtime, read: Callable[..., Iterable[dict]], *args: Any) -> Iterator[dict]:
    """Rows read in a unit of work of their own, as a streamed download sends them.

    A stream is sent after the handler returned and its request's unit of work ended; the
    rows are read (in chunks) while the client receives them, in this one.
    """
    with runtime.unit_of_work() as session:
        yield from read(session, *args)


def csv_response(name: str, columns: list[str], rows: Iterable[dict]) -> StreamingResponse:
    """A streamed CSV download (UTF-8 with BOM, which Excel opens correctly)."""
    return StreamingResponse(
        _csv_lines(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def xlsx_response(name: str, columns: list[str], rows: Iterable[dict]) -> Response:
    """An XLSX download written with openpyxl's write-only mode."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(name[:31])
    sheet.append(columns)
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
