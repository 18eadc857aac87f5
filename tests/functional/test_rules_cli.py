"""``promoflow rules check|show|test|load`` as HR uses them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.rules.packs import PACK_DIR

RUNNER = CliRunner()
SALES = (PACK_DIR / "sales.yaml").read_text(encoding="utf-8")
PROMOFLOW = str(Path(sys.executable).parent / "promoflow")


def test_check_says_ok_for_a_clean_pack_and_exits_0():
    result = RUNNER.invoke(app, ["rules", "check", str(PACK_DIR / "sales.yaml")])
    assert result.exit_code == 0
    assert result.output.startswith("ok: ")


def test_check_lists_every_problem_with_file_line_and_rule_and_exits_2(tmp_path):
    bad = tmp_path / "sales.yaml"
    bad.write_text(
        SALES.replace("when: score_q < 80 or", "when: scor_q < 80 or").replace(
            "weight: 2}", "weight: 0}", 1
        ),
        encoding="utf-8",
    )
    done = subprocess.run([PROMOFLOW, "rules", "check", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stdout.splitlines()
    assert any(
        f"{bad}, line" in line
        and "rule sales.demote.quarterly" in line
        and "did you mean 'score_q'" in line
        for line in lines
    )
    assert "competency weights must be > 0" in done.stdout
    assert lines[-1] == "2 problem(s)"


def test_check_reports_an_example_that_disagrees_with_the_rules(tmp_path):
    bad = tmp_path / "sales.yaml"
    before, after = "{outcome: demoted, to_grade: S4", "{outcome: promoted, to_grade: S4"
    wrong = SALES.replace(before, after, 1)
    bad.write_text(wrong, encoding="utf-8")
    result = RUNNER.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 2
    assert "outcome is 'demoted', expected 'promoted'" in result.output


def test_show_prints_the_pack_as_hr_reads_it_in_both_languages(db_url):
    zh = RUNNER.invoke(app, ["--db", db_url, "rules", "show", "sales"])
    assert zh.exit_code == 0
    assert "本季度 考核分 < 80 或 本季度 销售达成率 < 80%" in zh.output
    en = RUNNER.invoke(app, ["--db", db_url, "rules", "show", "cs_rating", "--lang", "en"])
    assert "composite score ≥ 70 and the period composite score < 80" in en.output


def test_rules_test_runs_every_bundled_example_through_durable_rules(db_url):
    result = RUNNER.invoke(app, ["--db", db_url, "rules", "test", "cs_rating"])
    assert result.exit_code == 0, result.output
    assert "10 passed, 0 failed" in result.output


def test_load_makes_an_edited_pack_active_for_new_cycles(db_url, tmp_path):
    edited = tmp_path / "sales.yaml"
    edited.write_text(
        SALES.replace("pass_marks: {written_test: 60", "pass_marks: {written_test: 65")
    )
    assert RUNNER.invoke(app, ["--db", db_url, "init"]).exit_code == 0
    result = RUNNER.invoke(app, ["--db", db_url, "rules", "load", str(edited)])
    assert result.exit_code == 0, result.output
    shown = RUNNER.invoke(app, ["--db", db_url, "rules", "show", "sales", "--lang", "en"])
    assert "written_test (pass mark 65)" in shown.output
