"""Reading an import file into plain text rows, the same whether it is CSV or XLSX.

HR hands data over as spreadsheets: a CSV saved by Excel (often with a UTF-8 BOM) or the
``.xlsx`` itself. Both are read into a :class:`Table` of stripped strings, numbered the
way a person sees them (the header is line 1), so validation never cares which it was and
the same sheet in either form imports to the same rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from promoflow.errors import InputError, Problem

XLSX_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(slots=True)
class Row:
    """One data row: its line number in the file and its cells by column name."""

    line: int
    cells: dict[str, str]
    #: non-empty cells beyond the header's last column (a shifted row)
    extra: tuple[str, ...] = ()

    def get(self, column: str) -> str:
        """The stripped text of ``column`` ('' when absent or empty)."""
        return self.cells.get(column, "")


@dataclass
class Table:
    """A whole file: where it came from, its header and its non-blank rows."""

    name: str
    sha256: str
    header: list[str]
    rows: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


def read_table(path: str | Path) -> Table:
    """Read a CSV (UTF-8, BOM or not) or XLSX file; raise InputError if it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() in XLSX_SUFFIXES:
        header, records = _xlsx_records(data, path.name)
    else:
        header, records = _csv_records(data, path.name)
    return build_table(path.name, hashlib.sha256(data).hexdigest(), header, records)


def build_table(name: str, sha256: str, header: list[str], records: list[list[str]]) -> Table:
    """Pair each record with the header, numbering lines from 2 and dropping blank rows."""
    header = [h.strip() for h in header]
    seen: set[str] = set()
    problems = []
    for h in header:
        if h and h in seen:
            problems.append(Problem(f"column {h!r} appears twice", file=name, line=1, column=h))
        seen.add(h)
    if problems:
        raise InputError(f"{name}: the header is not usable; nothing was imported", problems)
    table = Table(name=name, sha256=sha256, header=[h for h in header if h])
    width = len(header)
    padding = [""] * width
    for index, record in enumerate(records):
        values = [v.strip() for v in record]
        if not any(values):
            continue
        extra = tuple(v for v in values[width:] if v)
        if len(values) < width:
            values.extend(padding[len(values) :])
        cells = dict(zip(header, values, strict=False))
        cells.pop("", None)  # unnamed columns carry nothing
        table.rows.append(Row(line=index + 2, cells=cells, extra=extra))
    return table


def _csv_records(data: bytes, name: str) -> tuple[list[str], list[list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name} is not UTF-8 text; save it as 'CSV UTF-8' or .xlsx. Nothing was imported.",
            [Problem("bytes that are not UTF-8 (GBK?)", file=name, line=line)],
        ) from exc
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{name} is not a readable CSV file: {exc}") from exc
    if not records:
        raise InputError(f"{name} is empty: expected a header row. Nothing was imported.")
    return records[0], records[1:]


def _xlsx_records(data: bytes, name: str) -> tuple[list[str], list[list[str]]]:
    from openpyxl import load_workbook  # heavy; only XLSX imports pay for it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        raise InputError(f"{name} is not a readable .xlsx workbook: {exc}") from exc
    try:
        rows = [
            [cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        book.close()
    if not rows:
        raise InputError(f"{name} is empty: expected a header row. Nothing was imported.")
    return rows[0], rows[1:]


def cell_text(value: object) -> str:
    """An XLSX cell as the text a CSV of the same sheet would hold.

    Excel keeps numbers as binary floats: 80 comes back as 80.0 and 85.5 as 85.5, so an
    integral float is written without its '.0' and others by their shortest repr (never
    the float's binary expansion), which makes the value parse to the same Decimal as CSV.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (date, Decimal, int)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    return str(value)
