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
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from promoflow.engine.imports.xlsx import xlsx_rows
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


class Table:
    """A whole file: where it came from, its header and its non-blank rows.

    The rows are kept as plain sequences of stripped cells in ``header`` order (``records``,
    with their line numbers in ``lines``), which is what a 600k-row file can afford;
    iterating gives :class:`Row` objects, made one at a time. Importers that validate
    100k rows read ``records`` by :meth:`index` instead.
    """

    __slots__ = ("extras", "header", "lines", "name", "records", "sha256")

    def __init__(
        self,
        name: str,
        sha256: str,
        header: list[str],
        records: list[Sequence[str]] | None = None,
        lines: Sequence[int] | None = None,
        extras: dict[int, tuple[str, ...]] | None = None,
    ) -> None:
        self.name = name
        self.sha256 = sha256
        self.header = header
        #: each non-blank row's cells (tuples or lists), in ``header`` order, short rows padded
        self.records = records if records is not None else []
        #: the line number of each record (the header is line 1)
        self.lines = lines if lines is not None else range(2, 2 + len(self.records))
        #: line → the non-empty cells beyond the header's last column (shifted rows)
        self.extras = extras or {}

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Row]:
        header, extras = self.header, self.extras
        for line, record in zip(self.lines, self.records, strict=True):
            yield Row(line, dict(zip(header, record, strict=True)), extras.get(line, ()))

    @property
    def rows(self) -> list[Row]:
        """Every row as a :class:`Row` (built on each call: prefer iterating)."""
        return list(self)

    def index(self, column: str) -> int | None:
        """The position of ``column`` in each record, None when the header lacks it."""
        try:
            return self.header.index(column)
        except ValueError:
            return None


def read_table(path: str | Path) -> Table:
    """Read a CSV (UTF-8, BOM or not) or XLSX file; raise InputError if it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() in XLSX_SUFFIXES:
        header, records = _xlsx_records(data, path.name)
        return build_table(path.name, digest, header, records)
    header, records, stripped = _csv_records(data, path.name)
    del data  # the decoded text is all the reader needs now
    return build_table(path.name, digest, header, records, stripped=stripped)


def build_table(
    name: str,
    sha256: str,
    header: list[str],
    records: Iterable[Sequence[str]],
    *,
    stripped: bool = False,
) -> Table:
    """Pair each record with the header, numbering lines from 2 and dropping blank rows.

    ``stripped`` says no cell has surrounding whitespace (the reader checked the text).
    """
    header = [h.strip() for h in header]
    seen: set[str] = set()
    problems = []
    for h in header:
        if h and h in seen:
            problems.append(Problem(f"column {h!r} appears twice", file=name, line=1, column=h))
        seen.add(h)
    if problems:
        raise InputError(f"{name}: the header is not usable; nothing was imported", problems)
    width = len(header)
    named = [i for i, h in enumerate(header) if h]  # unnamed columns carry nothing
    every = len(named) == width
    padding = ("",) * width
    strip = str.strip
    out: list[Sequence[str]] = []
    append = out.append
    lines: list[int] | None = None  # made only once a blank row breaks the 2, 3, 4 … run
    extras: dict[int, tuple[str, ...]] = {}
    for index, record in enumerate(records):
        values = record if stripped else tuple(map(strip, record))
        if len(values) != width:
            if not any(values):
                lines = _skip(lines, len(out))
                continue
            if len(values) > width:
                extra = tuple(v for v in values[width:] if v)
                if extra:
                    extras[index + 2] = extra
                values = values[:width]
            else:
                values = (*values, *padding[len(values) :])
        elif not any(values):
            lines = _skip(lines, len(out))
            continue
        append(values if every else tuple(values[i] for i in named))
        if lines is not None:
            lines.append(index + 2)
    return Table(
        name=name,
        sha256=sha256,
        header=[h for h in header if h],
        records=out,
        lines=lines,
        extras=extras,
    )


def _skip(lines: list[int] | None, kept: int) -> list[int]:
    """The explicit line list once a blank row is skipped (until then lines run 2, 3, …)."""
    return list(range(2, 2 + kept)) if lines is None else lines


#: whitespace a cell could start or end with, other than the line breaks between records
_INNER_SPACE = re.compile(r"[^\S\r\n]")


def _csv_records(data: bytes, name: str) -> tuple[list[str], Iterator[list[str]], bool]:
    """The header, the records (read lazily), and whether no cell needs stripping."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name} is not UTF-8 text; save it as 'CSV UTF-8' or .xlsx. Nothing was imported.",
            [Problem("bytes that are not UTF-8 (GBK?)", file=name, line=line)],
        ) from exc
    del data
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{name} is empty: expected a header row. Nothing was imported.") from None
    except csv.Error as exc:
        raise InputError(f"{name} is not a readable CSV file: {exc}") from exc
    # without quotes no cell holds a line break, so no space anywhere means none to strip
    stripped = '"' not in text and _INNER_SPACE.search(text) is None
    return header, _checked(reader, name), stripped


def _checked(reader: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """The records of a CSV reader, read as the table is built (never all held twice)."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InputError(f"{name} is not a readable CSV file: {exc}") from exc


def _xlsx_records(data: bytes, name: str) -> tuple[list[str], list[list[str]]]:
    rows = xlsx_rows(data, name, cell_text)
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
