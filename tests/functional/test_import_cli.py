"""``promoflow import``: what a person sees, the exit status, and the kinds it knows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.imports import registry
from promoflow.errors import InputError
from tests.functional.import_files import EMPLOYEE_HEADER, EMPLOYEES, counts, write_csv

PROMOFLOW = Path(sys.executable).with_name("promoflow")


def test_import_prints_rows_and_changes_and_a_reimport_says_0_changed(db_url, tmp_path):
    path = write_csv(tmp_path / "employees.csv", EMPLOYEE_HEADER, EMPLOYEES)
    runner = CliRunner()
    first = runner.invoke(app, ["--db", db_url, "import", "employees", str(path)])
    assert first.exit_code == 0, first.output
    assert "imported employees from employees.csv: 3 rows, 3 changed" in first.output
    again = runner.invoke(app, ["--db", db_url, "import", "employees", str(path)])
    assert again.exit_code == 0, again.output
    assert "3 rows, 0 changed" in again.output


def test_a_bad_file_exits_2_and_lists_every_bad_row_on_stderr(rt, db_url, tmp_path):
    rows = [*EMPLOYEES, ["E9", "甲", "sales", "S99", "2025-10-01", "", "", ""], ["E9", "乙"]]
    path = write_csv(tmp_path / "employees.csv", EMPLOYEE_HEADER, rows)
    before = counts(rt)
    done = subprocess.run(
        [str(PROMOFLOW), "--db", db_url, "import", "employees", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "employees.csv: 2 bad rows; nothing was imported" in done.stderr
    assert "line 5, column grade: unknown grade 'S99' for track sales" in done.stderr
    assert "line 6, column employee_id: duplicate employee_id 'E9'" in done.stderr
    assert "line 6, column track: missing required field track" in done.stderr
    assert counts(rt) == before


def test_an_unknown_kind_is_refused_before_the_file_is_read(db_url, tmp_path):
    done = subprocess.run(
        [str(PROMOFLOW), "--db", db_url, "import", "salaries", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown import kind 'salaries'" in done.stderr


def test_every_kind_has_an_importer_with_the_three_names():
    for kind, module in registry.IMPORTERS.items():
        assert registry.importer(kind) is module
        assert isinstance(module.COLUMNS, (tuple, list)) and module.COLUMNS, kind
        assert callable(module.validate) and callable(module.apply), kind
    with pytest.raises(InputError, match=r"unknown import kind 'bonuses': use one of employees"):
        registry.importer("bonuses")
