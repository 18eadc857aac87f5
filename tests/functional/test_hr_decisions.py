"""HR decisions close the cases that wait for people (POLICY.md §6, issue 20 item 2):
``retain``, ``dismiss``, ``eliminate``, ``close-review`` and ``waive-stage``, each with a
reason, through the CLI and the API; ending an employment needs a second manager."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.console.web.app import create_app
from promoflow.engine.overrides import service as overrides
from promoflow.engine.storage.models import AuditEvent, Case, Employee, Notice, StageResult
from promoflow.errors import AccessDenied, TransitionError
from tests.functional.audit_seed import CYCLE, seed_cycle
from tests.functional.web_client import TestClient, login, token_for
from tests.functional.web_seed import add_users

runner = CliRunner()
NOW = "2026-10-09T10:00+08:00"


@pytest.fixture
def seeded(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path)  # E08 (S3, score 70) waits in an elimination review
    return db_url


def hr(db_url, actor, *args):
    return runner.invoke(app, ["--db", db_url, "--actor", actor, "override", *args, "--now", NOW])


def state_of(rt, employee):
    with rt.sessions() as s:
        return s.scalars(
            select(Case.state).where(Case.cycle_id == CYCLE, Case.employee_id == employee)
        ).one()


def test_a_manager_retains_after_the_elimination_review_at_once(rt, seeded):
    assert state_of(rt, "E08") == "review_opened"
    done = hr(seeded, "mia", "retain", CYCLE, "E08", "--reason", "新客户开拓中，给一个季度")
    assert done.exit_code == 0, done.output
    assert "approved and applied" in done.output
    assert state_of(rt, "E08") == "retained"
    status = runner.invoke(app, ["--db", seeded, "cycle", "status", CYCLE, "--format", "json"])
    assert "HR: elimination review" not in json.loads(status.stdout)["waiting_on"]
    lines = runner.invoke(app, ["--db", seeded, "decisions", CYCLE, "--format", "json"]).stdout
    (line,) = [json.loads(x) for x in lines.splitlines() if '"E08"' in x]
    assert (line["review"], line["review_decision"]) == ("elimination", "retained")
    with rt.sessions() as s:
        (notice,) = s.scalars(select(Notice).where(Notice.employee_id == "E08")).all()
    assert notice.kind == "retained" and "新客户开拓中" in notice.body


def test_eliminating_needs_a_second_manager_and_ends_the_employment(rt, seeded):
    proposed = hr(seeded, "mia", "eliminate", CYCLE, "E08", "--reason", "连续两季度未达标")
    assert proposed.exit_code == 0, proposed.output
    assert "proposed" in proposed.output
    own = runner.invoke(app, ["--db", seeded, "--actor", "mia", "override", "approve", "1"])
    assert isinstance(own.exception, AccessDenied)
    assert "ends an employment" in str(own.exception)
    approved = runner.invoke(app, ["--db", seeded, "--actor", "max", "override", "approve", "1"])
    assert approved.exit_code == 0, approved.output
    assert state_of(rt, "E08") == "eliminated"
    with rt.sessions() as s:
        assert s.get(Employee, "E08").active is False
        left = s.scalars(select(AuditEvent).where(AuditEvent.kind == "employee_left")).one()
        assert left.after["decision"] == "eliminate" and left.employee_id == "E08"
        (notice,) = s.scalars(select(Notice).where(Notice.employee_id == "E08")).all()
        assert notice.kind == "dismissed" and "连续两季度未达标" in notice.body


def test_a_decision_that_does_not_fit_the_case_is_refused_naming_its_state(rt, seeded):
    done = hr(seeded, "mia", "dismiss", CYCLE, "E01", "--reason", "x")
    assert isinstance(done.exception, TransitionError)
    assert "dismiss closes a probation case in 'dismissal_review'" in str(done.exception)
    assert "E01 has a promotion case in state 'test_notified'" in str(done.exception)


def test_waiving_the_written_test_moves_the_nomination_on(rt, seeded):
    done = hr(seeded, "mia", "waive-stage", CYCLE, "E01", "--reason", "上季度已通过同一考试")
    assert done.exit_code == 0, done.output
    assert state_of(rt, "E01") == "test_passed"
    with rt.sessions() as s:
        (result,) = s.scalars(select(StageResult).where(StageResult.employee_id == "E01")).all()
        assert (result.stage, result.value, result.passed) == ("written_test", "waived", True)
    wrong = hr(seeded, "mia", "waive-stage", CYCLE, "E02", "--stage", "interview",
               "--reason", "r")  # fmt: skip
    assert "waits for the written_test, not the interview" in str(wrong.exception)


def test_closing_a_below_standard_review_through_the_api(rt, seeded):
    with rt.unit_of_work() as s:  # a cs bottom-grade case, as the cs pack flags one
        s.execute(
            update(Case)
            .where(Case.cycle_id == CYCLE, Case.employee_id == "E07")
            .values(kind="below_standard", state="announced")
        )
        add_users(s)
    client = TestClient(create_app(rt))
    response = client.post(
        "/api/overrides",
        headers=token_for(rt, "manager"),
        json={
            "cycle_id": CYCLE,
            "employee_id": "E07",
            "kind": "close_review",
            "reason": "培训计划：每周两次产品培训",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "approved"
    assert state_of(rt, "E07") == "reviewed"


def test_the_case_page_offers_only_the_kinds_that_fit(rt, seeded):
    with rt.unit_of_work() as s:
        add_users(s)
    fits = overrides.kinds_for_case
    assert "retain" in fits("elimination", "review_opened")
    assert "waive_stage" not in fits("elimination", "review_opened")
    assert {"record_result", "waive_stage"} <= set(fits("promotion", "test_notified"))
    assert "retain" not in fits("promotion", "test_notified")
    page = login(create_app(rt), "manager").get(f"/cycles/{CYCLE}/cases/E08/override").text
    assert 'value="retain"' in page and 'value="eliminate"' in page
    assert 'value="waive_stage"' not in page and 'value="dismiss"' not in page
