"""Milestones keep the calendar when run by hand (POLICY.md §6, issue 20 item 9): ``cycle
open|advance``, the console's button and the API refuse a step before its calendar time
unless HR forces it with a reason, and the reason lands in the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.engine.storage.models import AuditEvent, Cycle, CycleMilestone
from promoflow.errors import TransitionError
from tests.functional.audit_seed import CYCLE, TZ, seed_cycle
from tests.functional.web_client import TestClient, csrf_of, login, make_app, token_for

PROMOFLOW = Path(sys.executable).with_name("promoflow")
runner = CliRunner()
NEXT = "sales-2026Q4"  # opens 2027-01-08 09:00 by the sales calendar


@pytest.fixture
def unopened(rt, db_url, tmp_path):
    seed_cycle(rt, tmp_path, open_cycle=False)
    return db_url


def _cycle(db_url, *args):
    return runner.invoke(app, ["--db", db_url, "--actor", "mia", "cycle", *args])


def _forced_events(rt) -> list[AuditEvent]:
    with rt.sessions() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.kind == "milestone_forced")).all()


def test_opening_before_the_calendar_exits_2_in_one_line_and_opens_nothing(rt, unopened):
    done = subprocess.run(
        [str(PROMOFLOW), "--db", unopened, "cycle", "open", CYCLE,
         "--now", "2026-10-07T09:00+08:00"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert f"{CYCLE} open is due 2026-10-08 09:00 (Asia/Shanghai)" in message
    assert "refused before the calendar time" in message and "Traceback" not in message
    with rt.sessions() as s:
        assert s.get(Cycle, CYCLE) is None


def test_a_forced_open_runs_and_the_reason_is_audited(rt, unopened):
    done = _cycle(unopened, "open", CYCLE, "--now", "2026-10-07T09:00+08:00", "--force",
                  "--reason", "国庆后提前启动")  # fmt: skip
    assert done.exit_code == 0, done.output
    (event,) = _forced_events(rt)
    assert (event.subject, event.cycle_id, event.actor) == ("open", CYCLE, "mia")
    assert event.reason == "国庆后提前启动"
    assert event.before == {"due": "2026-10-08T09:00:00+08:00"}


def test_advance_keeps_each_step_to_its_time_and_runs_it_once_due(rt, unopened):
    assert _cycle(unopened, "open", CYCLE, "--now", "2026-10-08T09:00+08:00").exit_code == 0
    early = _cycle(unopened, "advance", CYCLE, "--now", "2026-10-09T09:00+08:00")
    assert isinstance(early.exception, TransitionError)
    assert f"{CYCLE} test_due is due 2026-10-11 18:00" in str(early.exception)
    on_time = _cycle(unopened, "advance", CYCLE, "--now", "2026-10-11T18:00+08:00")
    assert on_time.exit_code == 0, on_time.output
    with rt.sessions() as s:
        ran = s.scalars(select(CycleMilestone.milestone).where(CycleMilestone.cycle_id == CYCLE))
        assert sorted(ran) == ["open", "test_due"]
    assert _forced_events(rt) == []


def test_a_reason_without_force_is_refused(unopened):
    done = _cycle(unopened, "open", CYCLE, "--now", "2026-10-08T09:00+08:00", "--reason", "x")
    assert "--reason is for --force" in str(done.exception)


@pytest.fixture
def early_console(rt, monkeypatch):
    """The console over the seeded world, its clock a day before sales-2026Q4 opens."""
    console = make_app(rt)
    runtime = console.state.runtime
    monkeypatch.setattr(runtime, "now", lambda: datetime(2027, 1, 7, 9, 0, tzinfo=TZ))
    return console


def test_the_api_refuses_early_then_runs_when_forced_with_a_reason(rt, early_console):
    client = TestClient(early_console)
    url = f"/api/cycles/{NEXT}/advance"
    refused = client.post(url, headers=token_for(rt, "manager"))
    assert refused.status_code == 409, refused.text
    assert "refused before the calendar time" in refused.json()["detail"]
    no_reason = client.post(url, headers=token_for(rt, "manager"), json={"force": True})
    assert no_reason.status_code == 422
    assert "force needs a reason" in no_reason.json()["detail"]
    forced = client.post(
        url, headers=token_for(rt, "manager"), json={"force": True, "reason": "年前提前评定"}
    )
    assert forced.status_code == 200, forced.text
    assert forced.json()["ran"] is True
    (event,) = _forced_events(rt)
    assert (event.cycle_id, event.reason) == (NEXT, "年前提前评定")


def test_the_console_button_asks_for_a_reason_before_the_calendar_time(rt, early_console):
    manager = login(early_console, "manager")
    page = manager.get("/cycles")
    assert 'name="force_reason"' in page.text
    refused = manager.post(
        "/cycles/advance", data={"csrf_token": csrf_of(page.text), "cycle_id": NEXT}
    )
    assert refused.status_code == 409
    assert "refused before the calendar time" in refused.text
    with rt.sessions() as s:
        assert s.get(Cycle, NEXT) is None
    forced = manager.post(
        "/cycles/advance",
        data={"csrf_token": csrf_of(page.text), "cycle_id": NEXT, "force_reason": "年前提前评定"},
        follow_redirects=False,
    )
    assert forced.status_code == 303
    (event,) = _forced_events(rt)
    assert (event.actor, event.reason) == ("manager", "年前提前评定")


def test_cycle_status_and_list_say_whether_a_cycle_is_closed(rt, unopened):
    assert _cycle(unopened, "open", CYCLE, "--now", "2026-10-08T09:00+08:00").exit_code == 0
    status = _cycle(unopened, "status", CYCLE, "--format", "json")
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    assert data["closed"] is False and data["next"] == "test_due"
    assert data["next_due"] == "2026-10-11T18:00:00+08:00"
    listed = _cycle(unopened, "list", "--format", "json")
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["cycle"], row["closed"], row["steps_done"]) == (CYCLE, False, ["open"])
    text = _cycle(unopened, "list")
    assert CYCLE in text.stdout and "test_due" in text.stdout
    bad = _cycle(unopened, "list", "--format", "yaml")
    assert "--format must be text or json" in str(bad.exception)
