"""`promoflow scheduler start` as a real process: fires on time, stops cleanly on SIGTERM.

The service's clock is started a few seconds before a real milestone (``--fake-now``, the
documented testing aid) so the test need not wait for the 8th of a month.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from typer.testing import CliRunner

import promoflow.engine.packs.store  # noqa: F401 (imported: broken fails, never skips)
from promoflow.console.cli import app
from promoflow.engine.scheduling.instance_lock import InstanceLock, SchedulerBusy
from promoflow.engine.setup import initialise
from promoflow.engine.storage.models.scheduling import FIRED, MilestoneFiring
from promoflow.rules.calendar import calendar_from_mapping
from promoflow.scheduler.service import SchedulerService

PROMOFLOW = str(Path(sys.executable).with_name("promoflow"))
OPEN_AT = datetime.fromisoformat("2026-10-08T09:00+08:00")


def start_service(db_url: str, log: Path, lead: float) -> subprocess.Popen:
    fake_now = (OPEN_AT - timedelta(seconds=lead)).isoformat()
    return subprocess.Popen(
        [PROMOFLOW, "--db", db_url, "scheduler", "start", "--fake-now", fake_now],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_fired(rt, key, timeout: float = 60) -> MilestoneFiring | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            row = s.scalar(
                select(MilestoneFiring).where(
                    MilestoneFiring.cycle_id == key[0], MilestoneFiring.milestone == key[1]
                )
            )
        if row is not None:
            return row
        time.sleep(0.2)
    return None


@pytest.mark.slow
def test_the_service_fires_a_near_future_milestone_at_its_time_then_exits_cleanly_on_sigterm(
    db_url, rt, tmp_path
):
    result = CliRunner().invoke(app, ["--db", db_url, "init", "--start", "2026-10-01T00:00+08:00"])
    assert result.exit_code == 0, result.output
    postgres = not db_url.startswith("sqlite")
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    # on PostgreSQL two services run side by side; SQLite allows one
    services = [start_service(db_url, log, lead=8) for log in logs[: 2 if postgres else 1]]
    try:
        row = wait_fired(rt, ("sales-2026Q3", "open"))
        assert row is not None, logs[0].read_text()
        assert row.status == FIRED, row.last_error
        assert row.fired_at >= OPEN_AT  # on the service's clock: not early
        time.sleep(0.5)
        text = "".join(log.read_text() for log in logs if log.exists())
        # fired by a date job at its time, not by the start-up catch-up, and only once
        assert len(re.findall(r"milestone:\S+: sales-2026Q3 open fired", text)) == 1, text
        assert "catch-up: sales-2026Q3" not in text
        if not postgres:
            second = subprocess.run(
                [PROMOFLOW, "--db", db_url, "scheduler", "start"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1
            assert "another scheduler is already running" in second.stderr
    finally:
        for service in services:
            service.send_signal(signal.SIGTERM)
        codes = [service.wait(timeout=30) for service in services]
    assert codes == [0] * len(services)
    for log in logs[: len(services)]:
        assert "received SIGTERM: stopping" in log.read_text()
        assert "scheduler stopped" in log.read_text()


log_table = Table(
    "test_milestone_log",
    MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", String(64)),
    Column("milestone", String(32)),
)
SALES = calendar_from_mapping(
    {
        "cycles": ["quarter"],
        "milestones": [
            {"id": "open", "month": 1, "day": 8, "time": "09:00"},
            {"id": "test_due", "month": 1, "day": 11, "time": "18:00"},
            {"id": "interview_notice", "month": 1, "day": 12, "time": "09:00"},
        ],
    }
)


def record_action(session, cycle_id, milestone, now, actor):
    session.execute(insert(log_table).values(cycle_id=cycle_id, milestone=milestone))


def test_after_downtime_the_service_catches_up_oldest_first_then_fires_the_next_on_time(rt):
    initialise(rt, datetime.fromisoformat("2026-04-01T00:00+08:00"))
    log_table.create(rt.engine)
    # down since before 04-08: open and test_due were missed; interview_notice is 1.5 s away
    clock = datetime.fromisoformat("2026-04-12T08:59:58.5+08:00")
    service = SchedulerService(
        rt, action=record_action, calendars={"sales": SALES}, clock_offset=clock - rt.now()
    )
    service.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(logged(rt)) < 3:
            time.sleep(0.1)
    finally:
        service.stop()
    assert logged(rt) == [
        ("sales-2026Q1", "open"),
        ("sales-2026Q1", "test_due"),
        ("sales-2026Q1", "interview_notice"),
    ]
    with rt.sessions() as s:
        notice = s.scalar(
            select(MilestoneFiring).where(MilestoneFiring.milestone == "interview_notice")
        )
    assert notice.fired_at >= datetime.fromisoformat("2026-04-12T09:00+08:00")


def logged(rt):
    with rt.engine.connect() as conn:
        rows = conn.execute(
            select(log_table.c.cycle_id, log_table.c.milestone).order_by(log_table.c.seq)
        )
        return [tuple(r) for r in rows]


def test_a_second_scheduler_on_the_same_sqlite_database_refuses_to_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'promoflow.db'}"
    first = InstanceLock(url)
    first.acquire()
    try:
        with pytest.raises(SchedulerBusy, match=r"another scheduler is already running.*pid \d+"):
            InstanceLock(url).acquire()
    finally:
        first.release()
    again = InstanceLock(url)
    again.acquire()  # free once the first is gone
    again.release()


def test_postgresql_needs_no_instance_lock():
    lock = InstanceLock("postgresql+psycopg://u@localhost/db")
    lock.acquire()
    assert lock.path is None
