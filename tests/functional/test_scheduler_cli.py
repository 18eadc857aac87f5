"""`promoflow scheduler plan|status|run-due` as HR and cron see them."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

import promoflow.engine.cycles.service  # noqa: F401 (imported: broken fails, never skips)
from promoflow.console.cli import app
from promoflow.errors import ConfigError

CALENDARS = {
    "sales": {
        "timezone": "Asia/Shanghai",
        "cycles": ["quarter", "half"],
        "milestones": [
            {"id": "open", "month": 1, "day": 8, "time": "09:00"},
            {"id": "announce", "month": 1, "day": 20, "time": "09:00"},
        ],
    }
}


def invoke(db_url, *args):
    return CliRunner().invoke(app, ["--db", db_url, "scheduler", *args])


def calendar_file(tmp_path, data=CALENDARS):
    path = tmp_path / "calendars.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_plan_lists_date_time_track_cycle_and_milestone_in_order(db_url, tmp_path):
    cal = calendar_file(tmp_path)
    result = invoke(
        db_url, "plan", "--from", "2026-07-01", "--to", "2026-08-31", "--calendars", cal
    )
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    assert [r[:5] for r in rows] == [
        ["2026-07-08", "09:00", "sales", "sales-2026Q2", "open"],
        ["2026-07-08", "09:00", "sales", "sales-2026H1", "open"],
        ["2026-07-20", "09:00", "sales", "sales-2026Q2", "announce"],
        ["2026-07-20", "09:00", "sales", "sales-2026H1", "announce"],
        ["2026-08-01", "00:00", "sales", "sales-2026Q2", "effective"],
        ["2026-08-01", "00:00", "sales", "sales-2026H1", "effective"],
    ]


def test_plan_as_json_gives_one_object_a_line_with_status(db_url, tmp_path):
    CliRunner().invoke(app, ["--db", db_url, "init", "--start", "2026-07-10T00:00+08:00"])
    cal = calendar_file(tmp_path)
    result = invoke(
        db_url,
        "plan",
        "--from",
        "2026-07-01",
        "--to",
        "2026-07-31",
        "--format",
        "json",
        "--calendars",
        cal,
    )
    items = [json.loads(line) for line in result.output.splitlines()]
    assert [(i["cycle"], i["milestone"], i["status"]) for i in items] == [
        ("sales-2026Q2", "open", "before go-live"),
        ("sales-2026H1", "open", "before go-live"),
        ("sales-2026Q2", "announce", "planned"),
        ("sales-2026H1", "announce", "planned"),
    ]
    assert items[0]["at"] == "2026-07-08T09:00:00+08:00"


def test_a_bad_calendar_file_is_refused_with_status_2_naming_the_problem(db_url, tmp_path):
    bad = {"sales": {"cycles": ["weekly"], "milestones": []}}
    result = invoke(db_url, "plan", "--calendars", calendar_file(tmp_path, bad))
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "unknown cycle kind 'weekly'" in str(result.exception)


def test_run_due_before_init_says_to_run_init(db_url, tmp_path):
    result = invoke(db_url, "run-due", "--now", "2026-10-08T10:00+08:00")
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "promoflow init" in str(result.exception)


def test_status_before_anything_fired_shows_go_live_and_what_comes_next(db_url, tmp_path):
    CliRunner().invoke(app, ["--db", db_url, "init", "--start", "2026-07-10T00:00+08:00"])
    cal = calendar_file(tmp_path)
    result = invoke(db_url, "status", "--now", "2026-07-15T00:00+08:00", "--calendars", cal)
    assert result.exit_code == 0, result.output
    assert "go-live: 2026-07-10 00:00" in result.output
    assert "failed: 0" in result.output
    assert "next 2026-07-20 09:00 sales-2026Q2 announce" in result.output


def test_a_failing_milestone_exits_1_shows_in_status_and_waits_out_its_back_off(db_url, tmp_path):
    CliRunner().invoke(app, ["--db", db_url, "init", "--start", "2026-07-01T00:00+08:00"])
    # a calendar for a track no rule pack defines: opening its cycle fails for real
    cal = calendar_file(tmp_path, {"ghost": CALENDARS["sales"] | {"cycles": ["quarter"]}})
    result = invoke(db_url, "run-due", "--now", "2026-07-08T09:00+08:00", "--calendars", cal)
    assert result.exit_code == 1
    assert "FAILED   ghost-2026Q2 open (due 2026-07-08 09:00)" in result.output
    assert "no rule pack for track 'ghost'" in result.output
    assert "retry after 2026-07-08 09:01" in result.output

    status = invoke(db_url, "status", "--now", "2026-07-08T09:00:30+08:00", "--calendars", cal)
    assert "failed: 1" in status.output
    assert "FAILED ghost-2026Q2 open (due 2026-07-08 09:00): 1 attempts" in status.output
    assert "fired: 0" in status.output

    again = invoke(db_url, "run-due", "--now", "2026-07-08T09:00:30+08:00", "--calendars", cal)
    assert again.exit_code == 0
    assert (
        "waiting  ghost-2026Q2 open (due 2026-07-08 09:00) until 2026-07-08 09:01" in again.output
    )
    later = invoke(db_url, "run-due", "--now", "2026-07-08T09:05+08:00", "--calendars", cal)
    assert later.exit_code == 1 and "retry after 2026-07-08 09:07" in later.output
