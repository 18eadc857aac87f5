"""Reading the first sheet of an ``.xlsx`` upload without trusting what it declares.

A workbook is a zip of XML that anyone can write by hand, so nothing it says about itself
is believed: its declared dimension is ignored (openpyxl would pad every row to a declared
``A1:XFD1048576``, or silently drop the rows beyond a declared ``A1:E2``), its sizes are
capped before a byte is inflated, rows and cells are counted as they are read, and a DTD,
an entity or broken XML is a bad file (exit 2), never a traceback.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from defusedxml import DefusedXmlException
from openpyxl import load_workbook

from promoflow.errors import InputError

#: the most a workbook may inflate to, all parts together (bigger sheets go as CSV)
MAX_UNCOMPRESSED = 256 * 1024 * 1024
#: the most parts a workbook may hold (a real one has a few dozen)
MAX_PARTS = 1000
#: Excel's own row limit
MAX_ROWS = 1_048_576
#: the widest row kept; cells beyond it must be empty
MAX_COLUMNS = 256
#: cells read in all (rows × the width openpyxl gives them), before the file is refused
MAX_CELLS = 30_000_000


def xlsx_rows(data: bytes, name: str, cell_text: Callable[[object], str]) -> list[list[str]]:
    """The first sheet's rows as text, trailing empty cells dropped; InputError if the
    file is not a workbook or goes over a cap."""
    _check_archive(data, name)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        raise _broken(name, exc) from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # read the rows that are there, not the declared range
        return _read(sheet.iter_rows(values_only=True), name, cell_text)
    except InputError:
        raise
    except Exception as exc:  # broken sheet XML surfaces while its rows are read
        raise _broken(name, exc) from exc
    finally:
        book.close()


def _check_archive(data: bytes, name: str) -> None:
    """Refuse an archive whose parts would inflate past the caps (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _broken(name, exc) from exc
    if len(parts) > MAX_PARTS:
        raise _refused(name, f"it has {len(parts):,} parts (at most {MAX_PARTS:,})")
    inflated = sum(p.file_size for p in parts)
    if inflated > MAX_UNCOMPRESSED:
        raise _refused(
            name,
            f"it unpacks to {inflated / 2**20:,.0f} MiB "
            f"(at most {MAX_UNCOMPRESSED // 2**20} MiB; save a sheet this big as CSV)",
        )


def _read(rows, name: str, cell_text: Callable[[object], str]) -> list[list[str]]:
    out: list[list[str]] = []
    cells = 0
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS:
            raise _refused(name, f"it has more than {MAX_ROWS:,} rows")
        cells += len(row)
        if cells > MAX_CELLS:
            raise _refused(name, f"it has more than {MAX_CELLS:,} cells")
        width = len(row)
        while width and row[width - 1] in (None, ""):
            width -= 1
        if width > MAX_COLUMNS:
            raise _refused(name, f"row {number} has {width:,} columns (at most {MAX_COLUMNS})")
        out.append([cell_text(v) for v in row[:width]])
    return out


def _broken(name: str, exc: BaseException) -> InputError:
    """One line for a workbook that cannot be read: a DTD or entity says so by name."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            return _refused(name, f"it holds an XML {type(seen).__name__} (DTDs are not accepted)")
        seen = seen.__cause__ or seen.__context__
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return InputError(f"{name} is not a readable .xlsx workbook: {first}")


def _refused(name: str, why: str) -> InputError:
    return InputError(f"{name} is refused: {why}. Nothing was imported.")
