"""Replay recomputes a cycle from its recorded facts; what-if tries a proposed pack on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.console.commands._context import console
from promoflow.engine.audit.verify import verify_chain
from promoflow.engine.cycles.replay import replay_cycle
from promoflow.engine.cycles.whatif import what_if
from promoflow.engine.storage.models import AuditEvent, AuditHead, Decision
from promoflow.errors import InputError, NotFoundError
from promoflow.rules.packs import bundled_packs, load_pack_text
from tests.functional.audit_seed import CHANGED_AT_85, CYCLE, PEOPLE, seed_cycle

runner = CliRunner()
PROMOTE_80 = "score_q >= 80 and attainment_q > 80%\n      and score_prev_q >= 80"
PROMOTE_85 = "score_q >= 85 and attainment_q > 80%\n      and score_prev_q >= 85"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Tables and sentences print unfolded, as on a wide terminal."""
    monkeypatch.setattr(console, "_width", 250)


@pytest.fixture
def cycle_rt(rt, tmp_path):
    seed_cycle(rt, tmp_path)
    return rt


def stricter_pack_text() -> str:
    source = bundled_packs()["sales"].source
    assert PROMOTE_80 in source, "the bundled promotion rule changed: update this test"
    return source.replace(PROMOTE_80, PROMOTE_85)


def alter_fact(rt, employee_id: str, name: str, value: str) -> None:
    with rt.sessions() as s, s.begin():
        d = s.scalars(select(Decision).where(Decision.employee_id == employee_id)).one()
        d.facts = {**d.facts, name: value}


def test_replaying_an_untouched_cycle_finds_no_difference(cycle_rt):
    with cycle_rt.sessions() as s:
        report = replay_cycle(s, CYCLE)
    assert report.ok, report.differences
    assert report.decisions == len(PEOPLE)


def test_replay_reports_the_decision_a_altered_fact_would_change(cycle_rt):
    alter_fact(cycle_rt, "E01", "score_q", "70")
    with cycle_rt.sessions() as s:
        report = replay_cycle(s, CYCLE)
    changed = {(d.employee_id, d.field): (d.recorded, d.recomputed) for d in report.differences}
    assert changed[("E01", "outcome")] == ("promoted", "demoted")
    assert changed[("E01", "to_grade")] == ("S6", "S4")
    assert {e for e, _ in changed} == {"E01"}


def test_replay_catches_a_decision_row_edited_to_disagree_with_the_trail(cycle_rt):
    with cycle_rt.sessions() as s, s.begin():
        d = s.scalars(select(Decision).where(Decision.employee_id == "E05")).one()
        d.outcome, d.to_grade, d.rule = "unchanged", "S5", None
        d.facts = {**d.facts, "score_q": "79.5", "attainment_q": "0.85"}
    with cycle_rt.sessions() as s:
        report = replay_cycle(s, CYCLE)
    trail = [d for d in report.differences if d.source == "trail"]
    seen = [(d.employee_id, d.field, d.recorded, d.recomputed) for d in trail]
    assert ("E05", "outcome", "demoted", "unchanged") in seen
    # the facts are in the chained decision event too: the edited facts are caught
    assert any(e == "E05" and field == "facts" for e, field, _, _ in seen)


def test_replay_of_an_unknown_cycle_is_refused(rt):
    with rt.sessions() as s, pytest.raises(NotFoundError, match="unknown cycle 'sales-2020Q1'"):
        replay_cycle(s, "sales-2020Q1")


def test_cycle_replay_command_exits_zero_then_one_after_tampering(cycle_rt, db_url):
    clean = runner.invoke(app, ["--db", db_url, "cycle", "replay", CYCLE])
    assert clean.exit_code == 0, clean.output
    assert "no difference" in clean.output
    alter_fact(cycle_rt, "E07", "attainment_q", "0.95")
    dirty = runner.invoke(app, ["--db", db_url, "cycle", "replay", CYCLE, "--json"])
    assert dirty.exit_code == 1
    found = json.loads(dirty.stdout)
    assert {d["employee_id"] for d in found["differences"]} == {"E07"}


def test_what_if_with_the_bundled_pack_changes_nobody(cycle_rt):
    with cycle_rt.sessions() as s:
        report = what_if(s, bundled_packs()["sales"], CYCLE)
    assert report.evaluated == len(PEOPLE)
    assert report.changes == []


def test_what_if_with_the_promotion_score_at_85_names_exactly_who_changes(cycle_rt):
    pack = load_pack_text(stricter_pack_text(), "sales-85.yaml")
    with cycle_rt.sessions() as s:
        report = what_if(s, pack, CYCLE)
    assert {c.employee_id for c in report.changes} == CHANGED_AT_85
    for change in report.changes:
        assert (change.recorded["outcome"], change.proposed["outcome"]) == (
            "promoted",
            "unchanged",
        )
        assert any("85" in reason for reason in change.reasons_en)
    assert report.per_grade["S5"]["changed"] == len(CHANGED_AT_85)
    assert report.per_grade["S5"]["moves"] == {"promoted S6 → unchanged": len(CHANGED_AT_85)}
    assert report.per_grade["S3"]["changed"] == 0


def test_what_if_changes_nothing_stored(cycle_rt):
    def snapshot():
        with cycle_rt.sessions() as s:
            return (
                s.scalar(select(func.count()).select_from(AuditEvent)),
                s.get(AuditHead, 1).hash,
                [(d.employee_id, d.outcome, d.to_grade) for d in s.scalars(select(Decision))],
            )

    before = snapshot()
    pack = load_pack_text(stricter_pack_text(), "sales-85.yaml")
    with cycle_rt.sessions() as s:
        what_if(s, pack, CYCLE)
    assert snapshot() == before
    with cycle_rt.sessions() as s:
        assert verify_chain(s).ok


def test_what_if_refuses_a_pack_of_another_track(cycle_rt):
    with cycle_rt.sessions() as s, pytest.raises(InputError, match="not sales"):
        what_if(s, bundled_packs()["cs"], CYCLE)


def test_rules_whatif_command_reports_per_grade_and_per_person(cycle_rt, db_url, tmp_path):
    proposed = tmp_path / "sales-85.yaml"
    proposed.write_text(stricter_pack_text(), encoding="utf-8")
    result = runner.invoke(
        app, ["--db", db_url, "rules", "whatif", str(proposed), "--cycle", CYCLE, "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["changed"] == len(CHANGED_AT_85)
    assert sorted(c["employee_id"] for c in found["changes"]) == sorted(CHANGED_AT_85)
    table = runner.invoke(app, ["--db", db_url, "rules", "whatif", str(proposed), "--cycle", CYCLE])
    assert "3 would change" in table.output


def test_whatif_of_a_broken_pack_file_is_a_pack_error(cycle_rt, db_url, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: sales\ngrades: [\n", encoding="utf-8")
    result = runner.invoke(app, ["--db", db_url, "rules", "whatif", str(broken), "--cycle", CYCLE])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "PackError"


def test_sqlite_file_is_untouched_by_what_if(cycle_rt, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("file check is for SQLite")
    path = Path(db_url.removeprefix("sqlite:///"))
    cycle_rt.engine.dispose()  # every connection closed: the file holds all that was committed
    before = path.read_bytes()
    proposed = tmp_path / "p.yaml"
    proposed.write_text(stricter_pack_text(), encoding="utf-8")
    runner.invoke(app, ["--db", db_url, "rules", "whatif", str(proposed), "--cycle", CYCLE])
    assert path.read_bytes() == before


def test_a_fact_altered_without_changing_the_outcome_is_caught_when_the_trail_holds_facts(
    cycle_rt,
):
    from promoflow.engine.audit.trail import record

    with cycle_rt.sessions() as s, s.begin():
        d = s.scalars(select(Decision).where(Decision.employee_id == "E01")).one()
        record(s, "decision", "scheduler", d.decided_at, employee_id="E01", cycle_id=CYCLE,
               after={"outcome": d.outcome, "to_grade": d.to_grade, "rule": d.rule,
                      "facts": d.facts})  # fmt: skip
    with cycle_rt.sessions() as s:
        assert replay_cycle(s, CYCLE).ok
    alter_fact(cycle_rt, "E01", "score_q", "91")  # still promoted: recomputation alone is blind
    with cycle_rt.sessions() as s:
        report = replay_cycle(s, CYCLE)
    assert [(d.employee_id, d.field, d.source) for d in report.differences] == [
        ("E01", "facts", "trail")
    ]
