"""The benchmark's floor decides POLICY.md §1 quarterly sales cases as computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bench.floor import Quarter, QuarterFacts, decide, months_in_grade

GOOD = QuarterFacts(Decimal("90"), Decimal("0.9"))


def facts(score: str | None, attainment: str | None) -> QuarterFacts:
    return QuarterFacts(
        None if score is None else Decimal(score),
        None if attainment is None else Decimal(attainment),
    )


def test_exactly_80_in_both_quarters_nominates_one_grade_up():
    d = decide("E1", "S5", 3, facts("80", "0.85"), facts("80", "0.81"))
    assert (d.outcome, d.to_grade, d.review) == ("promoted", "S6", None)


def test_79_99_demotes_one_grade():
    d = decide("E1", "S5", 12, facts("79.99", "0.95"), GOOD)
    assert (d.outcome, d.to_grade) == ("demoted", "S4")


def test_attainment_exactly_80_percent_neither_promotes_nor_demotes():
    d = decide("E1", "S5", 12, facts("95", "0.8"), GOOD)
    assert (d.outcome, d.to_grade) == ("unchanged", "S5")


def test_attainment_just_below_80_percent_demotes():
    d = decide("E1", "S7", 12, facts("95", "0.7999"), GOOD)
    assert (d.outcome, d.to_grade) == ("demoted", "S6")


def test_attainment_just_above_80_percent_in_both_quarters_nominates():
    d = decide("E1", "S7", 12, facts("95", "0.8001"), facts("80", "0.8001"))
    assert (d.outcome, d.to_grade) == ("promoted", "S8")


@pytest.mark.parametrize(
    ("since", "months", "outcome"),
    [(date(2026, 7, 1), 3, "promoted"), (date(2026, 7, 2), 2, "unchanged")],
)
def test_three_months_in_grade_is_the_tenure_boundary(since, months, outcome):
    q3 = Quarter.parse("2026Q3")
    assert months_in_grade(since, q3.ends) == months
    assert decide("E1", "S4", months, GOOD, GOOD).outcome == outcome


def test_missing_previous_quarter_makes_a_qualifying_case_pending():
    d = decide("E1", "S4", 6, GOOD, facts(None, "0.9"))
    assert (d.outcome, d.to_grade) == ("pending", "S4")


def test_missing_previous_quarter_does_not_matter_when_the_current_quarter_demotes():
    assert decide("E1", "S4", 6, facts("70", "0.9"), None).outcome == "demoted"


def test_missing_previous_quarter_does_not_matter_when_tenure_is_short():
    assert decide("E1", "S4", 2, GOOD, None).outcome == "unchanged"


def test_missing_current_quarter_is_pending():
    assert decide("E1", "S4", 6, facts(None, "0.9"), GOOD).outcome == "pending"


def test_a_weak_previous_quarter_keeps_the_grade():
    assert decide("E1", "S4", 6, GOOD, facts("79.99", "0.9")).outcome == "unchanged"


def test_at_s3_a_low_score_goes_to_elimination_review_not_lower():
    d = decide("E1", "S3", 6, facts("50", "0.9"), GOOD)
    assert (d.outcome, d.to_grade, d.review) == ("unchanged", "S3", "elimination")


def test_s9_is_nominated_for_s10_in_a_quarterly_cycle():
    assert decide("E1", "S9", 6, GOOD, GOOD).to_grade == "S10"


def test_the_previous_quarter_of_q1_is_q4_of_the_year_before():
    q1 = Quarter.parse("2027Q1")
    assert q1.previous().id == "2026Q4"
    assert q1.months == ("2027-01", "2027-02", "2027-03")
    assert q1.ends == date(2027, 3, 31)
