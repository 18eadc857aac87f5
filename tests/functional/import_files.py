"""Helpers for the import tests: write CSV/XLSX files, import them, count what was written."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from promoflow.engine.imports import ImportReport, import_table, run_import
from promoflow.engine.imports.catalog import Catalog
from promoflow.engine.imports.reader import build_table
from promoflow.engine.imports.results import COLUMNS as RESULT_COLUMNS
from promoflow.engine.storage.models import (
    AuditEvent,
    Employee,
    GradeHistory,
    ImportRun,
    Metric,
    MetricRevision,
    Period,
    Vacancy,
)
from promoflow.errors import InputError

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = datetime(2026, 10, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

EMPLOYEE_HEADER = [
    "employee_id",
    "name",
    "track",
    "grade",
    "grade_since",
    "hire_date",
    "org_unit",
    "position",
]
EMPLOYEES = [
    ["E0001", "张三", "sales", "S5", "2025-10-01", "2024-03-15", "east", ""],
    ["E0002", "李四", "sales", "S9", "2026-01-01", "2023-05-01", "west", ""],
    ["E0003", "王五", "cs", "普通客服代表·中级", "2025-07-01", "2025-01-10", "cs-shanghai", ""],
]
METRIC_HEADER = ["employee_id", "period", "metric", "value"]
METRICS = [
    ["E0001", "2026Q3", "score", "85.5"],
    ["E0001", "2026Q3", "sales_actual", "120000"],
    ["E0001", "2026Q3", "sales_target", "150000"],
    ["E0002", "2026Q2", "score", "80"],
    ["E0003", "2026-07", "return_visit", "66.8"],
]
TABLES = (AuditEvent, Employee, GradeHistory, ImportRun, Metric, MetricRevision, Period, Vacancy)


def write_csv(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> Path:
    """A CSV file as Excel saves it ('CSV UTF-8' adds a BOM)."""
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """The same sheet as an .xlsx workbook (cells may be numbers and dates, as HR types them)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def do_import(rt, kind: str, path: Path, now: datetime = NOW) -> ImportReport:
    """Import one file in its own committed transaction."""
    with rt.sessions() as session, session.begin():
        return run_import(session, kind, path, now, "tester")


def counts(rt) -> dict[str, int]:
    """Rows in every table an import may write."""
    with rt.sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in TABLES
        }


def refused(rt, kind: str, path: Path) -> InputError:
    """Import a bad file: it must raise InputError and leave every table as it was."""
    before = counts(rt)
    with pytest.raises(InputError) as caught:
        do_import(rt, kind, path)
    assert counts(rt) == before, "a refused file must write nothing"
    return caught.value


def messages(error: InputError) -> list[str]:
    """Each problem as the console prints it ('file, line N, column C: reason')."""
    return [str(p) for p in error.problems]


def import_results(session, rows: list[dict[str, str]], file_name: str, now: datetime, actor: str):
    """Import results given as dicts (no file): the same checks and effects as a file."""
    header = list(RESULT_COLUMNS)
    records = [[str(r.get(c, "")) for c in header] for r in rows]
    digest = hashlib.sha256(json.dumps(records, ensure_ascii=False).encode()).hexdigest()
    table = build_table(file_name, digest, header, records)
    # results read no track catalog: each cycle carries its own pack version
    return import_table(session, "results", table, now, actor, catalog=Catalog(packs={}))
