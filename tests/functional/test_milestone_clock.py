"""One milestone clock: what a notice tells people is when the scheduler really fires.

The bundled packs are stored with ``working_days_only: true``, so milestones on a weekend
or a public holiday move to the working day before. The times the workflow writes into
notices and checks against (``milestone_time``, ``effective_date``) must then be the
scheduler's firing times for every milestone of every cycle, not the declared dates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from promoflow.console.cli import app
from promoflow.demo.synthetic import generate_org
from promoflow.engine.bootstrap import bootstrap
from promoflow.engine.cycles import service as cycles
from promoflow.engine.packs.store import active_pack, store_pack
from promoflow.engine.scheduling import service as scheduling
from promoflow.engine.setup import initialise
from promoflow.engine.storage.models import Notice
from promoflow.engine.storage.models.scheduling import FIRED, MilestoneFiring
from promoflow.rules.calendar import (
    EFFECTIVE,
    effective_date,
    milestone_time,
    milestones_between,
    probation_month,
)
from promoflow.rules.packs import Pack, bundled_packs, load_pack_text
from promoflow.rules.periods import parse_period

TZ = ZoneInfo("Asia/Shanghai")
PERIODS = {
    "quarter": [f"{year}Q{q}" for year in (2026, 2027) for q in (1, 2, 3, 4)],
    "half": [f"{year}H{h}" for year in (2026, 2027) for h in (1, 2)],
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def on_working_days(pack: Pack) -> str:
    """The pack's YAML with the working-day rule switched on."""
    text = pack.source.replace("working_days_only: false", "working_days_only: true")
    assert text != pack.source, f"{pack.id}: no working_days_only line to switch"
    return text


@pytest.fixture
def working_day_packs(rt):
    initialise(rt, at("2026-01-01T00:00"))
    with rt.sessions() as session, session.begin():
        for pack in bundled_packs().values():
            working = load_pack_text(on_working_days(pack), f"{pack.id} on working days")
            store_pack(session, working, at("2026-01-01T00:00"), "tester")
    return rt


def test_every_notice_time_is_the_firing_time_for_every_cycle_of_2026_and_2027(working_day_packs):
    with working_day_packs.sessions() as session:
        calendars = scheduling.load_calendars(session)
        packs = {track: active_pack(session, track) for track in calendars}
    assert sorted(calendars) == sorted(bundled_packs())
    assert all(spec.working_days_only and spec.milestones for spec in calendars.values())
    # the scheduler's plan: 2027Q4's probation review fires in 2028-03
    fires = defaultdict(list)
    for m in milestones_between(calendars, at("2026-01-01T00:00"), at("2028-12-31T23:59")):
        fires[(m.track, m.period_id)].append(m)

    compared, shifted, cycles_seen = 0, 0, 0
    for track, pack in packs.items():
        for kind in pack.calendar.cycles:
            for period_id in PERIODS[kind]:
                period = parse_period(period_id)
                planned = fires[(track, period_id)]
                steps = cycles.steps_of(pack)
                # the scheduler fires exactly the workflow's steps, in the workflow's order
                assert [m.milestone for m in planned] == list(steps), (track, period_id)
                told = {step: milestone_time(pack.calendar, period, step) for step in steps}
                assert told == {m.milestone: m.at for m in planned}, (track, period_id)
                effective = told[EFFECTIVE]
                assert effective.date() == effective_date(period)
                assert probation_month(period) == f"{effective:%Y-%m}"
                compared += len(steps)
                shifted += sum(m.shifted_from is not None for m in planned)
                cycles_seen += 1
    # 5 packs: sales (8 quarters + 4 halves, 6 steps), cs and support (8 quarters, 4 steps),
    # cs_assistant and cs_rating (4 halves, 3 steps)
    assert cycles_seen == 12 + 8 + 8 + 4 + 4
    assert compared == 12 * 6 + 2 * 8 * 4 + 2 * 4 * 3
    assert shifted >= 10  # the rule really moved milestones (18 with 2026 holiday data)


def cli(db_url, *args):
    result = CliRunner().invoke(app, ["--db", db_url, *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_the_sales_2026q3_test_notice_names_the_saturday_the_scheduler_closes_the_test(
    db_url, tmp_path
):
    """2026-10-11 is a Sunday; Saturday 10-10 is a working day (National Day swap)."""
    cli(db_url, "init", "--start", "2026-10-01T00:00+08:00")
    pack_file = tmp_path / "sales.yaml"
    pack_file.write_text(on_working_days(bundled_packs()["sales"]), encoding="utf-8")
    cli(db_url, "rules", "load", str(pack_file))
    paths = generate_org(30, ("sales",), seed=7, period="2026Q3").write_csv(tmp_path)
    for kind in ("employees", "metrics", "vacancies"):
        cli(db_url, "import", kind, str(paths[kind]))

    plan = [
        json.loads(line)
        for line in cli(
            db_url, "scheduler", "plan", "--from", "2026-10-01", "--to", "2026-10-31",
            "--format", "json",
        ).splitlines()
    ]  # fmt: skip
    (test_due,) = [p for p in plan if p["cycle"] == "sales-2026Q3" and p["milestone"] == "test_due"]
    assert (test_due["date"], test_due["time"]) == ("2026-10-10", "18:00")
    assert test_due["shifted_from"] == "2026-10-11T18:00:00+08:00"

    cli(db_url, "scheduler", "run-due", "--now", "2026-10-08T09:00+08:00")
    runtime = bootstrap(db_url)
    with runtime.sessions() as session:
        notices = session.scalars(
            select(Notice).where(Notice.cycle_id == "sales-2026Q3", Notice.kind == "test")
        ).all()
        assert notices, "the synthetic org nominates nobody for the written test"
        assert {n.params["deadline"] for n in notices} == {"2026-10-10 18:00"}
        assert all("2026-10-10 18:00" in n.body for n in notices)
        pack = cycles.active_pack(session, "sales")
        status = cycles.cycle_status(session, "sales-2026Q3")
    assert status["next"] == "test_due"
    assert status["next_due"] == "2026-10-10T18:00:00+08:00"
    assert milestone_time(pack.calendar, parse_period("2026Q3"), "test_due") == at(
        "2026-10-10T18:00"
    )

    out = cli(db_url, "scheduler", "run-due", "--now", "2026-10-10T17:59+08:00")
    assert out.strip() == "0 fired, 0 failed, 0 waiting at 2026-10-10 17:59"
    out = cli(db_url, "scheduler", "run-due", "--now", "2026-10-10T18:00+08:00")
    assert "fired    sales-2026Q3 test_due (due 2026-10-10 18:00)" in out
    with runtime.sessions() as session:
        fired = session.scalar(
            select(MilestoneFiring).where(
                MilestoneFiring.cycle_id == "sales-2026Q3", MilestoneFiring.milestone == "test_due"
            )
        )
        assert fired.status == FIRED
        assert fired.due_at == at("2026-10-10T18:00")
    runtime.engine.dispose()
