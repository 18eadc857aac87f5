"""`promoflow override …` as HR types it: the acting person is --actor, roles are stored."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.overrides.query import list_overrides
from promoflow.errors import AccessDenied
from tests.functional.audit_seed import CYCLE, seed_cycle

runner = CliRunner()
PROMOFLOW = Path(sys.executable).with_name("promoflow")


@pytest.fixture
def cycle_db(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)
    return db_url


def cli(db_url, actor, *args):
    return runner.invoke(app, ["--db", db_url, "--actor", actor, "override", *args])


def test_a_demotion_is_cancelled_by_two_managers_and_listed_beside_the_rule(cycle_db):
    proposed = cli(cycle_db, "mia", "cancel-demotion", CYCLE, "E05", "--reason", "季度内病假")
    assert proposed.exit_code == 0, proposed.output
    assert (
        "override #1 cancel_demotion for E05" in proposed.output and "proposed" in proposed.output
    )

    own = cli(cycle_db, "mia", "approve", "1")
    assert isinstance(own.exception, AccessDenied)
    assert "four eyes" in str(own.exception)

    approved = cli(cycle_db, "max", "approve", "1", "--note", "sick-leave certificate seen")
    assert approved.exit_code == 0, approved.output
    assert "approved" in approved.output

    listed = cli(cycle_db, "olivia", "list", "--json")
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["rule_decision"]["outcome"] == "demoted"
    assert row["effect"]["outcome"] == "unchanged"
    assert (row["proposed_by"], row["decided_by"], row["status"]) == ("mia", "max", "approved")

    exported = runner.invoke(app, ["--db", cycle_db, "decisions", CYCLE, "--format", "csv"])
    table = {r["employee_id"]: r for r in csv.DictReader(io.StringIO(exported.stdout))}
    # the outcome is the override's; the rules' demotion stays beside it (issue 20, item 1)
    assert (table["E05"]["outcome"], table["E05"]["to_grade"]) == ("unchanged", "S5")
    assert (table["E05"]["rule_outcome"], table["E05"]["rule_to_grade"]) == ("demoted", "S4")
    assert table["E05"]["overrides"] == "1"
    assert table["E05"]["reasons"].endswith("override #1")
    assert table["E01"]["overrides"] == ""
    as_json = runner.invoke(app, ["--db", cycle_db, "decisions", CYCLE, "--format", "json"])
    line = next(json.loads(x) for x in as_json.stdout.splitlines() if '"E05"' in x)
    assert (line["outcome"], line["overrides"], line["effective_from"]) == ("unchanged", [1], None)


def test_the_reason_option_is_mandatory(cycle_db):
    result = cli(cycle_db, "olivia", "block-promotion", CYCLE, "E02")
    assert result.exit_code == 2
    assert "--reason" in result.output


def test_an_empty_reason_is_refused_with_a_clear_message(cycle_db):
    result = cli(cycle_db, "olivia", "block-promotion", CYCLE, "E02", "--reason", " ")
    assert "needs a reason" in str(result.exception)


def test_a_manager_records_a_missing_result_in_one_step(cycle_db):
    result = cli(cycle_db, "mia", "record-result", CYCLE, "E03", "written_test", "pass",
                 "--reason", "business school sent it late")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "approved and applied" in result.output


def test_the_interchange_forms_of_set_grade_and_record_result(cycle_db, rt):
    """``override KIND CYCLE EMPLOYEE --to-grade G`` and ``--stage S --value V``
    (INTERCHANGE.md), beside the older positional forms."""
    with_cycle = cli(cycle_db, "olivia", "set-grade", CYCLE, "E07", "--to-grade", "S6",
                     "--reason", "grading error")  # fmt: skip
    assert with_cycle.exit_code == 0, with_cycle.output
    without = cli(cycle_db, "olivia", "set-grade", "-", "E06", "--to-grade", "S4",
                  "--reason", "grading error at hire")  # fmt: skip
    assert without.exit_code == 0, without.output
    result = cli(cycle_db, "mia", "record-result", CYCLE, "E03", "--stage", "written_test",
                 "--value", "88", "--reason", "sent late")  # fmt: skip
    assert result.exit_code == 0, result.output
    with rt.sessions() as s:
        got = [(o.kind, o.cycle_id, o.employee_id, o.params) for o in list_overrides(s)]
    assert got == [
        ("set_grade", CYCLE, "E07", {"to_grade": "S6"}),
        ("set_grade", None, "E06", {"to_grade": "S4"}),
        ("record_result", CYCLE, "E03", {"stage": "written_test", "value": "88"}),
    ]


def test_a_second_open_override_exits_2_in_one_line(cycle_db):
    first = cli(cycle_db, "olivia", "block-promotion", CYCLE, "E02", "--reason", "r1")
    assert first.exit_code == 0, first.output
    done = subprocess.run(
        [str(PROMOFLOW), "--db", cycle_db, "--actor", "mia", "override", "block-promotion",
         CYCLE, "E02", "--reason", "r2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "E02 already has override #1 (block_promotion, proposed by olivia)" in message
    assert "Traceback" not in done.stderr
