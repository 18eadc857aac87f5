"""Two scheduler processes against one database fire every milestone once, in order.

Two real processes run the same run-due pass at the same instant over a year of
milestones; the action writes a row per firing into a log table (inside the firing
transaction) and dawdles a little to widen any race. On PostgreSQL the advisory lock
serialises them; on SQLite the database write lock does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from promoflow.engine.setup import initialise
from promoflow.engine.storage.models.scheduling import MilestoneFiring
from promoflow.rules.calendar import calendar_from_mapping, milestones_between

OPEN = {"id": "open", "month": 1, "day": 8, "time": "09:00"}
ANNOUNCE = {"id": "announce", "month": 1, "day": 20, "time": "09:00"}
MIDDLE = {"id": "test_due", "month": 1, "day": 11, "time": "18:00"}
CALENDARS = {
    "sales": {"cycles": ["quarter", "half"], "milestones": [OPEN, MIDDLE, ANNOUNCE]},
    "cs": {"cycles": ["quarter"], "milestones": [OPEN, ANNOUNCE]},
}

WORKER = """
import sys, time
from datetime import datetime
import yaml
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from promoflow.engine.bootstrap import bootstrap
from promoflow.rules.calendar import calendar_from_mapping
from promoflow.engine.scheduling.firing import run_due

url, calendar_file, now, start_at = sys.argv[1:5]
log = Table("test_milestone_log", MetaData(),
            Column("seq", Integer, primary_key=True, autoincrement=True),
            Column("cycle_id", String(64)), Column("milestone", String(32)),
            Column("worker", String(32)))
calendars = {t: calendar_from_mapping(c) for t, c in yaml.safe_load(open(calendar_file)).items()}

def action(session, cycle_id, milestone, now, actor):
    session.execute(insert(log).values(cycle_id=cycle_id, milestone=milestone, worker=sys.argv[5]))
    time.sleep(0.01)

rt = bootstrap(url)
while time.time() < float(start_at):
    time.sleep(0.001)
report = run_due(rt.sessions, datetime.fromisoformat(now), action, calendars)
print(len(report.fired))
"""

log_table = Table(
    "test_milestone_log",
    MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", String(64)),
    Column("milestone", String(32)),
    Column("worker", String(32)),
)


def test_two_concurrent_schedulers_fire_each_milestone_once_and_in_order(rt, tmp_path: Path):
    from datetime import datetime

    go_live = datetime.fromisoformat("2026-01-01T00:00+08:00")
    now = datetime.fromisoformat("2026-12-31T00:00+08:00")
    initialise(rt, go_live)
    log_table.create(rt.engine)
    calendar_file = tmp_path / "calendars.yaml"
    calendar_file.write_text(yaml.safe_dump(CALENDARS))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    start_at = str(time.time() + 3)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                rt.url,
                str(calendar_file),
                now.isoformat(),
                start_at,
                name,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results

    calendars = {t: calendar_from_mapping(c) for t, c in CALENDARS.items()}
    expected = [(m.cycle_id, m.milestone) for m in milestones_between(calendars, go_live, now)]
    with rt.engine.connect() as conn:
        fired = conn.execute(
            select(log_table.c.cycle_id, log_table.c.milestone).order_by(log_table.c.seq)
        ).all()
    assert [tuple(r) for r in fired] == expected, results
    assert sum(int(out) for out, _ in results) == len(expected)
    with rt.sessions() as s:
        assert s.query(MilestoneFiring).count() == len(expected)
