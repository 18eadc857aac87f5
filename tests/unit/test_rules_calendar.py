"""Milestone dates come from the pack calendar: exact times, firing order, working-day shift.

This module is the one milestone clock: the notices' deadlines and dates
(``milestone_time``, ``effective_date``, ``probation_month``) are read from it too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoflow.rules.calendar import (
    CalendarError,
    calendar_from_mapping,
    cycle_steps,
    effective_date,
    is_working_day,
    milestone_time,
    milestones_between,
    milestones_of_cycle,
    probation_month,
    with_effective_step,
)
from promoflow.rules.packs import bundled_packs
from promoflow.rules.periods import parse_period

TZ = ZoneInfo("Asia/Shanghai")
SALES_MILESTONES = [
    {"id": "open", "month": 1, "day": 8, "time": "09:00"},
    {"id": "test_due", "month": 1, "day": 11, "time": "18:00"},
    {"id": "interview_notice", "month": 1, "day": 12, "time": "09:00"},
    {"id": "interview_due", "month": 1, "day": 15, "time": "18:00"},
    {"id": "announce", "month": 1, "day": 20, "time": "09:00"},
]
CS_MILESTONES = [
    {"id": "open", "month": 1, "day": 8, "time": "09:00"},
    {"id": "announce", "month": 1, "day": 20, "time": "09:00"},
    {"id": "probation_review", "month": 3, "day": 8, "time": "09:00"},
]


def sales(**extra):
    return calendar_from_mapping(
        {"timezone": "Asia/Shanghai", "cycles": ["quarter", "half"], "milestones": SALES_MILESTONES}
        | extra
    )


def cs(**extra):
    return calendar_from_mapping({"cycles": ["quarter"], "milestones": CS_MILESTONES} | extra)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_a_quarter_cycle_runs_from_the_8th_to_the_20th_of_the_month_after_the_quarter():
    got = milestones_of_cycle({"sales": sales()}, "sales", "2026Q3")
    assert [(m.milestone, m.at) for m in got] == [
        ("open", local("2026-10-08T09:00")),
        ("test_due", local("2026-10-11T18:00")),
        ("interview_notice", local("2026-10-12T09:00")),
        ("interview_due", local("2026-10-15T18:00")),
        ("announce", local("2026-10-20T09:00")),
    ]
    assert got[0].cycle_id == "sales-2026Q3" and got[0].key == ("sales", "2026Q3", "open")


def test_a_half_year_cycle_opens_in_january_and_july():
    h2 = milestones_of_cycle({"sales": sales()}, "sales", "2026H2")
    h1 = milestones_of_cycle({"sales": sales()}, "sales", "2026H1")
    assert h2[0].at == local("2027-01-08T09:00") and h1[0].at == local("2026-07-08T09:00")


def test_probation_review_is_read_on_the_8th_of_the_month_after_the_probation_month():
    got = milestones_of_cycle({"cs": cs()}, "cs", "2026Q3")
    assert got[-1].milestone == "probation_review"
    assert got[-1].at == local("2026-12-08T09:00")


def test_a_track_without_half_cycles_has_none():
    assert milestones_of_cycle({"cs": cs()}, "cs", "2026H2") == []


def test_the_effective_step_follows_announce_on_the_first_of_the_next_month():
    cal = with_effective_step(cs())
    assert [m.id for m in cal.milestones] == ["open", "announce", "effective", "probation_review"]
    got = milestones_of_cycle({"cs": cal}, "cs", "2026Q3")
    assert got[2].at == local("2026-11-01T00:00")


def test_milestones_between_is_inclusive_and_oldest_first_with_quarters_before_halves():
    got = milestones_between(
        {"sales": sales()}, local("2026-07-08T09:00"), local("2026-07-11T18:00")
    )
    assert [(m.cycle_id, m.milestone) for m in got] == [
        ("sales-2026Q2", "open"),
        ("sales-2026H1", "open"),
        ("sales-2026Q2", "test_due"),
        ("sales-2026H1", "test_due"),
    ]


def test_calendar_days_are_kept_when_the_working_day_rule_is_off():
    got = milestones_of_cycle({"sales": sales()}, "sales", "2025Q4")
    assert got[1].at == local("2026-01-11T18:00")  # a Sunday


def test_a_sunday_milestone_moves_to_the_friday_before_when_working_days_only():
    got = milestones_of_cycle({"sales": sales(working_days_only=True)}, "sales", "2025Q4")
    test_due = got[1]
    assert test_due.at == local("2026-01-09T18:00")
    assert test_due.shifted_from == local("2026-01-11T18:00")


def test_a_public_holiday_moves_back_past_the_whole_holiday_to_a_make_up_working_day():
    cal = cs(
        working_days_only=True, milestones=[{"id": "x", "month": 2, "day": 20, "time": "09:00"}]
    )
    (m,) = milestones_of_cycle({"cs": cal}, "cs", "2025Q4")
    # 2026-02-20 is in the Spring Festival; 2026-02-14 (a Saturday) is a make-up working day
    assert m.at == local("2026-02-14T09:00")


def test_a_shift_never_lets_a_milestone_overtake_the_one_before_it():
    cal = calendar_from_mapping(
        {
            "cycles": ["quarter"],
            "working_days_only": True,
            "milestones": [
                {"id": "a", "month": 1, "day": 9, "time": "18:00"},  # 2026-01-09 Friday
                {"id": "b", "month": 1, "day": 11, "time": "09:00"},  # Sunday → Friday 09:00
            ],
        }
    )
    a, b = milestones_of_cycle({"t": cal}, "t", "2025Q4")
    assert a.at == local("2026-01-09T18:00") and b.at == a.at and b.shifted_from is not None


def test_the_effective_date_is_not_moved_by_the_working_day_rule():
    cal = with_effective_step(cs(working_days_only=True))
    got = milestones_of_cycle({"cs": cal}, "cs", "2026Q2")  # effective 2026-08-01, a Saturday
    assert [m.at for m in got if m.milestone == "effective"] == [local("2026-08-01T00:00")]


def test_a_notice_reads_the_shifted_time_the_scheduler_fires_at():
    q3 = parse_period("2026Q3")
    # 2026-10-11 is a Sunday; Saturday 10-10 is a working day (the National Day swap)
    assert milestone_time(sales(working_days_only=True), q3, "test_due") == local(
        "2026-10-10T18:00"
    )
    assert milestone_time(sales(), q3, "test_due") == local("2026-10-11T18:00")


def test_milestone_time_knows_the_effective_step_and_refuses_a_milestone_not_in_the_calendar():
    q3 = parse_period("2026Q3")
    assert milestone_time(cs(), q3, "effective") == local("2026-11-01T00:00")
    with pytest.raises(CalendarError, match=r"'test_due' is not in the calendar .*effective"):
        milestone_time(cs(), q3, "test_due")


def test_milestone_time_reads_a_rule_packs_calendar_as_the_scheduler_does():
    pack = bundled_packs()["sales"]
    got = milestone_time(pack.calendar, parse_period("2026H2"), "announce")
    assert got == local("2027-01-20T09:00")


def test_the_effective_date_and_probation_month_are_the_first_of_the_second_month_after():
    assert effective_date(parse_period("2026Q3")) == date(2026, 11, 1)
    assert effective_date(parse_period("2026Q4")) == date(2027, 2, 1)
    assert effective_date(parse_period("2026H2")) == date(2027, 2, 1)
    assert probation_month(parse_period("2026Q3")) == "2026-11"
    assert probation_month(parse_period("2027H1")) == "2027-08"


def test_a_cycles_steps_are_its_milestones_with_effective_after_announce():
    assert cycle_steps(cs()) == ("open", "announce", "effective", "probation_review")
    assert cycle_steps(bundled_packs()["sales"].calendar) == (
        "open",
        "test_due",
        "interview_notice",
        "interview_due",
        "announce",
        "effective",
    )


def test_a_year_without_holiday_data_falls_back_to_weekends_and_says_so():
    working, note = is_working_day(date(2099, 1, 10))  # a Saturday
    assert working is False and "2099" in note


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"cycles": ["month"], "milestones": []}, "unknown cycle kind"),
        (
            {
                "cycles": ["quarter"],
                "milestones": [{"id": "a", "month": 1, "day": 8, "time": "9h"}],
            },
            "HH:MM",
        ),
        (
            {
                "cycles": ["quarter"],
                "milestones": [{"id": "a", "month": 1, "day": 31, "time": "09:00"}],
            },
            "day 31",
        ),
        ({"cycles": ["quarter"], "milestones": [{"id": "a", "month": 1}]}, "needs id, month"),
        ({"timezone": "Mars/Olympus", "cycles": [], "milestones": []}, "Mars/Olympus"),
        (
            {
                "cycles": ["quarter"],
                "milestones": [
                    {"id": "a", "month": 1, "day": 9, "time": "09:00"},
                    {"id": "b", "month": 1, "day": 8, "time": "09:00"},
                ],
            },
            "milestone b comes before",
        ),
        (
            {
                "cycles": ["quarter"],
                "milestones": [
                    {"id": "a", "month": 1, "day": 8, "time": "09:00"},
                    {"id": "a", "month": 1, "day": 9, "time": "09:00"},
                ],
            },
            "listed twice",
        ),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_problem(section, message):
    with pytest.raises(CalendarError, match=message):
        calendar_from_mapping(section)


milestone_lists = st.lists(
    st.tuples(st.integers(1, 4), st.integers(1, 28), st.integers(0, 23), st.integers(0, 59)),
    min_size=1,
    max_size=5,
    unique=True,
).map(sorted)


@settings(max_examples=40, deadline=None)
@given(
    points=milestone_lists,
    working=st.booleans(),
    start=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1)),
    days=st.integers(0, 800),
)
def test_any_calendar_plans_each_milestone_once_in_order_within_the_range(
    points, working, start, days
):
    cal = calendar_from_mapping(
        {
            "cycles": ["quarter", "half"],
            "working_days_only": working,
            "milestones": [
                {"id": f"m{i}", "month": mo, "day": d, "time": f"{h:02d}:{mi:02d}"}
                for i, (mo, d, h, mi) in enumerate(points)
            ],
        }
    )
    begin = start.replace(tzinfo=TZ)
    end = begin + timedelta(days=days)
    got = milestones_between({"t": cal}, begin, end)
    assert all(begin <= m.at <= end for m in got)
    assert [m.sort_key() for m in got] == sorted(m.sort_key() for m in got)
    assert len({m.key for m in got}) == len(got)
    by_cycle: dict[str, list] = {}
    for m in got:
        by_cycle.setdefault(m.cycle_id, []).append(m)
    for ms in by_cycle.values():
        assert [m.index for m in ms] == sorted(m.index for m in ms)  # declared order kept
        if working:
            for m in ms:
                assert is_working_day(m.at.date())[0]
                if m.shifted_from is not None:
                    assert m.at <= m.shifted_from
    # ranges compose: planning two halves gives the whole, nothing lost or doubled
    middle = begin + (end - begin) / 2
    first = milestones_between({"t": cal}, begin, middle)
    second = [m for m in milestones_between({"t": cal}, middle, end) if m.at > middle]
    assert first + second == got
