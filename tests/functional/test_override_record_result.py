"""An interview result recorded by override is judged exactly as ``import results`` judges it
(issue 20, item 8): the pack's competency model weighs the core competencies double and
knows their names, whichever way the result arrives."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.cycles import steps
from promoflow.engine.imports import run_import
from promoflow.engine.storage.models import Case, StageResult
from promoflow.errors import InputError
from tests.functional.audit_seed import CYCLE, TZ, seed_cycle
from tests.functional.web_client import TestClient, make_app, token_for
from tests.functional.web_seed import CYCLE as WEB_CYCLE

runner = CliRunner()
RATINGS = "communication=40;teamwork=90"  # (2 × 40 + 90) / 3 = 56.67: below the mark of 60


@pytest.fixture
def interviewing(rt, db_url, tmp_path):
    """E01 and E02 passed the written test and were invited to the interview."""
    seed_cycle(rt, tmp_path)
    passed = tmp_path / "tests.csv"
    passed.write_text(
        "employee_id,cycle,stage,value\n"
        f"E01,{CYCLE},written_test,90\nE02,{CYCLE},written_test,90\n",
        encoding="utf-8",
    )
    with rt.unit_of_work() as s:
        run_import(s, "results", passed, datetime(2026, 10, 10, 9, tzinfo=TZ), "hr")
    with rt.unit_of_work() as s:
        steps.run_milestone(s, CYCLE, "interview_notice", datetime(2026, 10, 12, 9, tzinfo=TZ),
                            "scheduler")  # fmt: skip
    return db_url


def _interview(rt, employee: str) -> tuple[StageResult, str]:
    with rt.sessions() as s:
        result = s.scalars(
            select(StageResult).where(
                StageResult.employee_id == employee, StageResult.stage == "interview"
            )
        ).one()
        state = s.scalars(
            select(Case.state).where(Case.employee_id == employee, Case.cycle_id == CYCLE)
        ).one()
        return result, state


def test_an_override_and_an_import_score_the_same_ratings_alike(rt, interviewing, tmp_path):
    recorded = runner.invoke(
        app,
        ["--db", interviewing, "--actor", "mia", "override", "record-result", CYCLE, "E01",
         "interview", RATINGS, "--reason", "the panel's sheet came by mail"],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    imported = tmp_path / "interview.csv"
    imported.write_text(
        f'employee_id,cycle,stage,value\nE02,{CYCLE},interview,"{RATINGS}"\n', encoding="utf-8"
    )
    with rt.unit_of_work() as s:
        run_import(s, "results", imported, datetime(2026, 10, 14, 9, tzinfo=TZ), "hr")

    by_override, state_1 = _interview(rt, "E01")
    by_import, state_2 = _interview(rt, "E02")
    assert by_override.score == by_import.score
    assert by_override.score.quantize(Decimal("0.01")) == Decimal("56.67")
    assert by_override.passed is False and by_import.passed is False
    assert state_1 == state_2 == "interview_failed"


def test_an_unknown_competency_is_refused_at_proposal_naming_it(rt, interviewing):
    refused = runner.invoke(
        app,
        ["--db", interviewing, "--actor", "mia", "override", "record-result", CYCLE, "E01",
         "interview", "communication=80;charisma=90", "--reason", "panel sheet"],
    )  # fmt: skip
    # CliRunner hands back the error that main() prints as one line with exit code 2
    assert isinstance(refused.exception, InputError)
    assert "unknown competency 'charisma'" in str(refused.exception)
    with rt.sessions() as s:
        assert s.scalars(select(StageResult).where(StageResult.stage == "interview")).all() == []


def test_the_api_refuses_an_unknown_competency_with_the_same_words(rt):
    client = TestClient(make_app(rt))
    response = client.post(
        "/api/overrides",
        headers=token_for(rt, "manager"),
        json={
            "cycle_id": WEB_CYCLE,
            "employee_id": "E000001",
            "kind": "record_result",
            "params": {"stage": "interview", "value": "communication=80;charisma=90"},
            "reason": "panel sheet",
        },
    )
    assert response.status_code == 422, response.text
    assert "unknown competency 'charisma'" in response.json()["detail"]
    assert client.get("/api/overrides", headers=token_for(rt, "viewer")).json() == []
