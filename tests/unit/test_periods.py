"""Period parsing and months-in-grade follow POLICY.md §0 exactly."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoflow.rules.periods import containing, months_in_grade, parse_period


def test_quarter_covers_three_months():
    q = parse_period("2026Q3")
    assert (q.starts, q.ends) == (date(2026, 7, 1), date(2026, 9, 30))
    assert [m.id for m in q.months] == ["2026-07", "2026-08", "2026-09"]


def test_half_covers_two_quarters():
    assert [q.id for q in parse_period("2026H2").quarters] == ["2026Q3", "2026Q4"]


def test_previous_quarter_crosses_the_year():
    assert parse_period("2026Q1").previous().id == "2025Q4"


@pytest.mark.parametrize("bad", ["2026Q5", "2026-13", "2026H3", "Q3-2026", "", "2026q3x"])
def test_unknown_period_forms_are_refused_with_the_form_named(bad):
    with pytest.raises(ValueError, match="period"):
        parse_period(bad)


def test_grade_since_first_day_of_quarter_gives_three_months():
    assert months_in_grade(date(2026, 7, 1), date(2026, 9, 30)) == 3


def test_grade_since_second_day_of_quarter_gives_two_months():
    assert months_in_grade(date(2026, 7, 2), date(2026, 9, 30)) == 2


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)))
def test_every_day_lies_in_its_quarter_and_half(day):
    for kind in ("month", "quarter", "half"):
        period = containing(day, kind)
        assert period.starts <= day <= period.ends
        assert parse_period(period.id) == period
