"""One outcome everywhere (issue 20, item 1): ``promoflow decisions``, the API's decisions,
case listing, case detail and cycle counts, and the console's case page and export all
say the same about each employee — after an approved override, and after a failed stage."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime

import pytest
from typer.testing import CliRunner

from promoflow.console.cli import app as cli
from promoflow.console.web.app import create_app
from promoflow.engine.imports import run_import
from promoflow.engine.overrides import service as overrides
from tests.functional.audit_seed import CYCLE, TZ, seed_cycle
from tests.functional.web_client import TestClient, login, token_for
from tests.functional.web_seed import add_users

NOW = datetime(2026, 10, 9, 10, 0, tzinfo=TZ)


@pytest.fixture
def world(rt, db_url, tmp_path):
    """The real sales quarter: E05's demotion cancelled by two managers, E01 failing the
    written test, the console over the same database."""
    seed_cycle(rt, tmp_path)
    with rt.unit_of_work() as s:
        add_users(s)
        o = overrides.propose(s, now=NOW, actor="olivia", employee_id="E05", cycle_id=CYCLE,
                              kind="cancel_demotion", reason="sick leave")  # fmt: skip
    with rt.unit_of_work() as s:
        overrides.approve(s, o.id, now=NOW, actor="max", note="certificate seen")
    failed = tmp_path / "failed.csv"
    failed.write_text(f"employee_id,cycle,stage,value\nE01,{CYCLE},written_test,30\n", "utf-8")
    with rt.unit_of_work() as s:
        run_import(s, "results", failed, NOW, "hr")
    return db_url, create_app(rt)


def _exported(db_url) -> dict[str, dict]:
    out = CliRunner().invoke(cli, ["--db", db_url, "decisions", CYCLE, "--format", "json"])
    assert out.exit_code == 0, out.output
    return {line["employee_id"]: line for line in map(json.loads, out.stdout.splitlines())}


def test_every_reader_gives_the_same_outcome(rt, world):
    db_url, console = world
    lines = _exported(db_url)
    assert (lines["E05"]["outcome"], lines["E05"]["to_grade"]) == ("unchanged", "S5")
    assert (lines["E05"]["rule_outcome"], lines["E05"]["rule_to_grade"]) == ("demoted", "S4")
    assert (lines["E01"]["outcome"], lines["E01"]["to_grade"]) == ("unchanged", "S5")
    assert lines["E01"]["rule_outcome"] == "promoted"
    assert lines["E01"]["reasons"][-1] == "written test not passed → grade unchanged"

    api, headers = TestClient(console), token_for(rt, "viewer")
    by_api = {d["employee_id"]: d for d in api.get(f"/api/cycles/{CYCLE}/decisions",
                                                    headers=headers).json()}  # fmt: skip
    assert by_api == lines
    for employee, line in lines.items():
        detail = api.get(f"/api/cycles/{CYCLE}/cases/{employee}", headers=headers).json()
        assert (detail["decision"]["outcome"], detail["decision"]["to_grade"]) == (
            line["outcome"], line["to_grade"]
        ), employee  # fmt: skip
    counts = Counter(line["outcome"] for line in lines.values())
    (row,) = [c for c in api.get("/api/cycles", headers=headers).json() if c["cycle_id"] == CYCLE]
    assert row["outcomes"] == {o: counts.get(o, 0) for o in row["outcomes"]}
    for outcome, n in counts.items():
        listed = api.get(f"/api/cycles/{CYCLE}/cases", headers=headers,
                         params={"outcome": outcome, "per_page": 50}).json()  # fmt: skip
        assert listed["total"] == n
        assert {r["employee_id"] for r in listed["rows"]} == {
            e for e, line in lines.items() if line["outcome"] == outcome
        }

    viewer = login(console, "viewer")
    page = viewer.get(f"/cycles/{CYCLE}/cases/E01").text
    assert 'class="outcome unchanged"' in page and "笔试未通过，职级不变" in page
    assert 'id="rule-verdict"' in page  # the rules' nomination, kept beside
    exported = login(console, "officer").get(f"/cycles/{CYCLE}/export.csv")
    assert exported.status_code == 200, exported.text
    text = exported.content.decode("utf-8-sig")
    table = {r["employee_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for employee, line in lines.items():
        assert (table[employee]["outcome"], table[employee]["to_grade"]) == (
            line["outcome"], line["to_grade"]
        ), employee  # fmt: skip
    assert table["E05"]["rule_outcome"] == "demoted"
