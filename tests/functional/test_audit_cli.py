"""`promoflow audit verify|show|export` on a real database."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.console.commands._context import console
from promoflow.engine.audit.trail import Event, record_many
from promoflow.errors import InputError, IntegrityError_

T0 = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
runner = CliRunner()


def seed(rt) -> None:
    events = [
        Event("decision", "system", T0, employee_id="E1", cycle_id="sales-2026Q3",
              after={"outcome": "promoted"}, reason="score 86 ≥ 80"),
        Event("decision", "system", T0, employee_id="E2", cycle_id="sales-2026Q3",
              after={"outcome": "demoted"}, reason="score 70 < 80"),
        Event("case_transition", "scheduler", T0 + timedelta(days=3), employee_id="E1",
              cycle_id="sales-2026Q3", case_id=7, before={"state": "invited"},
              after={"state": "test_passed"}),
        Event("override_proposed", "li.officer", T0 + timedelta(days=5), employee_id="E2",
              cycle_id="sales-2026Q3", case_id=8, reason="分公司特批 / branch exception"),
        Event("decision", "system", T0 + timedelta(days=90), employee_id="E1",
              cycle_id="sales-2026Q4", after={"outcome": "unchanged"}),
    ]  # fmt: skip
    with rt.sessions() as s, s.begin():
        record_many(s, events)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Tables print at full width, so a filtered value is not folded across lines."""
    monkeypatch.setattr(console, "_width", 250)


def cli(db_url, *args):
    return runner.invoke(app, ["--db", db_url, *args], catch_exceptions=True)


def test_verify_says_intact_and_exits_zero(rt, db_url):
    seed(rt)
    result = cli(db_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "5 events" in result.output


def test_verify_exits_one_naming_the_first_bad_event(rt, db_url):
    seed(rt)
    with rt.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_events SET actor = 'someone' WHERE seq = 4"))
    result = cli(db_url, "audit", "verify")
    assert result.exit_code == 1
    assert isinstance(result.exception, IntegrityError_)
    assert "event #4" in str(result.exception) and "edited" in str(result.exception)


def test_the_installed_command_prints_the_break_and_exits_one(rt, db_url):
    seed(rt)
    with rt.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "promoflow"), "--db", db_url, "audit", "verify"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "event #5" in proc.stderr and "truncated" in proc.stderr


def test_show_filters_by_employee_kind_and_time(rt, db_url):
    seed(rt)
    result = cli(
        db_url, "audit", "show", "--employee", "E1", "--kind", "decision",
        "--until", "2026-12-31T00:00+08:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "audit events (1)" in result.output
    assert "sales-2026Q3" in result.output and "sales-2026Q4" not in result.output


def test_show_filters_by_case_and_actor(rt, db_url):
    seed(rt)
    by_case = cli(db_url, "audit", "show", "--case", "7")
    assert "audit events (1)" in by_case.output and "case_transition" in by_case.output
    by_actor = cli(db_url, "audit", "show", "--actor", "li.officer")
    assert "audit events (1)" in by_actor.output and "override_proposed" in by_actor.output


def test_export_jsonl_writes_every_field_of_the_matching_events(rt, db_url):
    seed(rt)
    result = cli(db_url, "audit", "export", "--format", "jsonl", "--cycle", "sales-2026Q3")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3, 4]
    assert lines[2]["before"] == {"state": "invited"} and lines[2]["case_id"] == 7
    assert lines[3]["reason"] == "分公司特批 / branch exception"
    assert all(len(r["hash"]) == 64 for r in lines)


def test_export_csv_to_a_file(rt, db_url, tmp_path):
    seed(rt)
    out = tmp_path / "audit.csv"
    result = cli(db_url, "audit", "export", "--format", "csv", "-o", str(out), "--since",
                 "2026-10-10T00:00+00:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["seq"] for r in rows] == ["3", "4", "5"]
    assert json.loads(rows[0]["after"]) == {"state": "test_passed"}


def test_export_refuses_an_unknown_format(rt, db_url):
    result = cli(db_url, "audit", "export", "--format", "xml")
    assert isinstance(result.exception, InputError)  # the console exits 2 on it
    assert "unknown export format 'xml'" in str(result.exception)


def test_verify_on_a_database_without_schema_says_to_run_init(empty_db_url):
    result = cli(empty_db_url, "audit", "verify")
    assert "run `promoflow init` first" in str(result.exception)
