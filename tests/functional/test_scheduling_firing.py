"""Run-due fires each milestone once, in order, catches up after downtime, retries failures.

The action here is real work, not a mock: it writes a row into a log table of the test
database inside the firing transaction, so a rolled-back firing leaves no row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import sessionmaker

import promoflow.engine.packs.store  # noqa: F401 (imported: broken fails, never skips)
from promoflow.engine.scheduling.firing import backoff, run_due
from promoflow.engine.scheduling.service import load_calendars
from promoflow.engine.setup import initialise
from promoflow.engine.storage.models.scheduling import FAILED, FIRED, MilestoneFiring
from promoflow.errors import PromoflowError
from promoflow.rules.calendar import calendar_from_mapping, milestones_between

TZ = ZoneInfo("Asia/Shanghai")
OPEN = {"id": "open", "month": 1, "day": 8, "time": "09:00"}
ANNOUNCE = {"id": "announce", "month": 1, "day": 20, "time": "09:00"}
SALES = [
    OPEN,
    {"id": "test_due", "month": 1, "day": 11, "time": "18:00"},
    {"id": "interview_notice", "month": 1, "day": 12, "time": "09:00"},
    {"id": "interview_due", "month": 1, "day": 15, "time": "18:00"},
    ANNOUNCE,
]
PROBATION = {"id": "probation_review", "month": 3, "day": 8, "time": "09:00"}
CALENDARS = {
    "sales": calendar_from_mapping({"cycles": ["quarter", "half"], "milestones": SALES}),
    "cs": calendar_from_mapping({"cycles": ["quarter"], "milestones": [OPEN, ANNOUNCE, PROBATION]}),
    "support": calendar_from_mapping(
        {"cycles": ["quarter", "half"], "milestones": [OPEN, ANNOUNCE, PROBATION]}
    ),
    "cs_rating": calendar_from_mapping({"cycles": ["half"], "milestones": [OPEN, ANNOUNCE]}),
}

log_table = Table(
    "test_milestone_log",
    MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", String(64)),
    Column("milestone", String(32)),
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def live(rt):
    """A database gone live at 2026-01-01 00:00 Shanghai, with the action's log table."""
    initialise(rt, at("2026-01-01T00:00"))
    log_table.create(rt.engine)
    return rt


def record_action(session, cycle_id, milestone, now, actor):
    session.execute(insert(log_table).values(cycle_id=cycle_id, milestone=milestone))


def logged(rt) -> list[tuple[str, str]]:
    with rt.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(log_table.c.cycle_id, log_table.c.milestone).order_by(log_table.c.seq)
            )
        ]


def test_a_simulated_year_fires_every_milestone_of_every_track_once_and_in_order(live):
    start, end = at("2026-01-01T00:00"), at("2026-12-31T23:59")
    expected = milestones_between(CALENDARS, start + timedelta(seconds=1), end)
    # wake at every milestone's time, as the service does, then once more at the year's end
    for now in [*sorted({m.at for m in expected}), end]:
        run_due(live.sessions, now, record_action, CALENDARS)
    assert logged(live) == [(m.cycle_id, m.milestone) for m in expected]
    # sales 4 quarters x 5 + 2 halves x 5; cs 4 x 3; support 4 x 3 + 2 x 3; cs_rating 2 x 2
    assert len(expected) == 20 + 10 + 12 + 18 + 4
    with live.sessions() as s:
        rows = s.scalars(select(MilestoneFiring)).all()
    assert {r.status for r in rows} == {FIRED} and all(r.attempts == 1 for r in rows)


def test_downtime_across_two_milestones_fires_both_on_restart_oldest_first(live):
    run_due(live.sessions, at("2026-04-08T08:00"), record_action, CALENDARS)
    before = logged(live)
    # down from 04-08 08:00 to 04-12 10:00: sales open and test_due and interview_notice missed
    report = run_due(live.sessions, at("2026-04-12T10:00"), record_action, CALENDARS)
    sales = [(c, m) for c, m in logged(live)[len(before) :] if c == "sales-2026Q1"]
    assert sales == [
        ("sales-2026Q1", "open"),
        ("sales-2026Q1", "test_due"),
        ("sales-2026Q1", "interview_notice"),
    ]
    times = [m.at for m in report.fired]
    assert times == sorted(times)


def test_run_due_twice_fires_nothing_the_second_time(live):
    first = run_due(live.sessions, at("2026-07-21T00:00"), record_action, CALENDARS)
    second = run_due(live.sessions, at("2026-07-21T00:00"), record_action, CALENDARS)
    assert first.fired and second.outcomes == []
    assert len(logged(live)) == len(first.fired)


def test_nothing_fires_before_go_live_or_after_now(live):
    report = run_due(live.sessions, at("2026-01-08T08:59"), record_action, CALENDARS)
    assert report.outcomes == [] and logged(live) == []
    report = run_due(live.sessions, at("2026-01-08T09:00"), record_action, CALENDARS)
    assert {(m.cycle_id, m.milestone) for m in report.fired} == {
        ("sales-2025Q4", "open"),
        ("sales-2025H2", "open"),
        ("cs-2025Q4", "open"),
        ("support-2025Q4", "open"),
        ("support-2025H2", "open"),
        ("cs_rating-2025H2", "open"),
    }


def test_a_cycle_opened_before_go_live_is_left_to_people(rt):
    initialise(rt, at("2026-01-09T00:00"))
    log_table.create(rt.engine)
    report = run_due(rt.sessions, at("2026-01-31T00:00"), record_action, CALENDARS)
    assert report.outcomes == []


def test_a_failing_milestone_retries_with_backoff_and_is_never_marked_fired(live):
    calls = []

    def flaky(session, cycle_id, milestone, now, actor):
        record_action(session, cycle_id, milestone, now, actor)
        if cycle_id == "cs-2026Q1" and len([c for c in calls if c == cycle_id]) < 2:
            calls.append(cycle_id)
            raise RuntimeError("database went away")

    t0 = at("2026-04-08T09:00")
    report = run_due(live.sessions, t0, flaky, CALENDARS)
    failed = report.of("failed")
    assert [(o.milestone.cycle_id, o.milestone.milestone) for o in failed] == [
        ("cs-2026Q1", "open")
    ]
    assert failed[0].retry_at == t0 + backoff(1)
    assert ("cs-2026Q1", "open") not in logged(live)  # its work was rolled back
    with live.sessions() as s:
        row = s.scalar(select(MilestoneFiring).where(MilestoneFiring.cycle_id == "cs-2026Q1"))
        assert (row.status, row.attempts, row.fired_at) == (FAILED, 1, None)
        assert "database went away" in row.last_error
    # the later milestone of the same cycle waits behind the failed one
    report = run_due(live.sessions, at("2026-04-20T09:00"), flaky, CALENDARS)
    waiting = [
        (o.milestone.milestone, o.result)
        for o in report.outcomes
        if o.milestone.cycle_id == "cs-2026Q1"
    ]
    assert waiting == [("open", "failed"), ("announce", "waiting")]
    assert report.of("failed")[0].retry_at == at("2026-04-20T09:00") + backoff(2)
    # before the back-off ends nothing is tried; after it, open then announce fire, in order
    assert run_due(live.sessions, at("2026-04-20T09:01"), flaky, CALENDARS).of("fired") == []
    report = run_due(live.sessions, at("2026-04-20T09:03"), flaky, CALENDARS)
    assert [(m.cycle_id, m.milestone) for m in report.fired] == [
        ("cs-2026Q1", "open"),
        ("cs-2026Q1", "announce"),
    ]
    with live.sessions() as s:
        row = s.scalar(
            select(MilestoneFiring).where(
                MilestoneFiring.cycle_id == "cs-2026Q1", MilestoneFiring.milestone == "open"
            )
        )
        assert (row.status, row.attempts) == (FIRED, 3)


def test_backoff_doubles_and_stops_growing_at_an_hour():
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(30) == timedelta(hours=1)


def test_every_firing_is_in_the_audit_trail(live):
    from promoflow.engine.storage.models import AuditEvent

    report = run_due(live.sessions, at("2026-01-20T10:00"), record_action, CALENDARS)
    with live.sessions() as s:
        kind = AuditEvent.kind == "scheduler_firing"
        n = s.scalar(select(func.count()).select_from(AuditEvent).where(kind))
    assert n == len(report.fired) > 0


def test_a_year_of_the_bundled_packs_fires_every_step_of_every_track_once_in_order(live):
    with live.sessions() as s:
        calendars = load_calendars(s)
    assert set(calendars) >= {"sales", "cs", "support", "cs_rating"}
    start, end = at("2026-01-01T00:00"), at("2027-01-01T00:00")
    expected = milestones_between(calendars, start + timedelta(seconds=1), end)
    for now in [*sorted({m.at for m in expected}), end]:
        run_due(live.sessions, now, record_action, calendars)
    assert logged(live) == [(m.cycle_id, m.milestone) for m in expected]
    per_cycle: dict[str, list[str]] = {}
    for cycle_id, milestone in logged(live):
        per_cycle.setdefault(cycle_id, []).append(milestone)
    assert per_cycle["sales-2026Q2"] == [
        "open",
        "test_due",
        "interview_notice",
        "interview_due",
        "announce",
        "effective",
    ]
    assert per_cycle["cs-2026Q2"] == ["open", "announce", "effective", "probation_review"]
    assert per_cycle["cs_rating-2026H1"] == ["open", "announce", "effective"]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # state is reset below
)
@given(
    wakeups=st.lists(st.integers(0, 180 * 24 * 60), max_size=5).map(sorted),
)
def test_any_pattern_of_downtime_fires_each_milestone_once_in_calendar_order(live, wakeups):
    with live.engine.begin() as conn:
        conn.execute(delete(log_table))
        conn.execute(delete(MilestoneFiring.__table__))
    small = {"sales": CALENDARS["sales"], "cs": CALENDARS["cs"]}
    start, end = at("2026-01-01T00:00"), at("2026-06-30T00:00")
    for minutes in wakeups:
        run_due(live.sessions, start + timedelta(minutes=minutes), record_action, small)
    run_due(live.sessions, end, record_action, small)
    expected = milestones_between(small, start + timedelta(seconds=1), end)
    assert logged(live) == [(m.cycle_id, m.milestone) for m in expected]


def test_a_database_that_does_not_answer_fires_nothing_and_says_so():
    gone = sessionmaker(create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none"))
    now = datetime(2026, 10, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with pytest.raises(PromoflowError, match=r"^database unavailable, nothing fired: "):
        run_due(gone, now)
