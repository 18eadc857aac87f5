"""One outcome per employee and cycle (POLICY.md §6): the rules, then the stages, then the
vacancy, then HR — with the rules' own verdict kept beside it."""

from __future__ import annotations

from datetime import date

import pytest

from promoflow.workflow.outcome import Overruled, Ruled, case_outcome

GRADES = ("S3", "S4", "S5", "S6", "S7")
EFFECTIVE = date(2026, 11, 1)
UP = Ruled("S5", "S6", "promoted")
DOWN = Ruled("S5", "S4", "demoted")


def outcome(ruled, kind, state, flagged=None, overrides=()):
    return case_outcome(ruled, kind, state, flagged, overrides, GRADES, EFFECTIVE)


def test_a_nomination_on_its_way_reads_as_the_rules_verdict_from_the_effective_date():
    got = outcome(UP, "promotion", "interview_passed")
    assert (got.outcome, got.to_grade, got.effective_from) == ("promoted", "S6", EFFECTIVE)
    assert (got.rule_outcome, got.rule_to_grade) == ("promoted", "S6")
    assert (got.overrides, got.review_decision, got.why("en")) == ((), None, None)


@pytest.mark.parametrize(
    ("state", "expected", "en", "zh"),
    [
        ("test_failed", "unchanged", "written test not passed → grade unchanged",
         "笔试未通过，职级不变"),
        ("interview_failed", "unchanged", "interview not passed → grade unchanged",
         "面试未通过，职级不变"),
        ("test_missing", "pending", "written test result missing at its deadline → waiting for HR",
         "笔试结果截止时未到，待人力资源处理"),
        ("no_vacancy", "unchanged", "no vacancy → grade unchanged", "无空缺职位，职级不变"),
    ],
)  # fmt: skip
def test_a_nomination_that_stopped_keeps_the_grade_and_says_where(state, expected, en, zh):
    got = outcome(UP, "promotion", state)
    assert (got.outcome, got.to_grade, got.effective_from) == (expected, "S5", None)
    assert (got.why("en"), got.why("zh")) == (en, zh)
    assert got.rule_outcome == "promoted"


def test_a_state_that_is_not_a_stage_result_changes_nothing():
    assert outcome(UP, "promotion", "weird_failed").outcome == "promoted"
    assert outcome(DOWN, "demotion", "test_failed").outcome == "demoted"


@pytest.mark.parametrize(
    ("kind", "state", "review", "decided"),
    [
        ("probation", "on_probation", None, None),
        ("probation", "dismissal_review", "dismissal", None),
        ("probation", "dismissed", "dismissal", "dismissed"),
        ("probation", "retained", "dismissal", "retained"),
        ("elimination", "review_opened", "elimination", None),
        ("elimination", "eliminated", "elimination", "eliminated"),
        ("elimination", "retained", "elimination", "retained"),
        ("below_standard", "flagged", "below_standard", None),
        ("below_standard", "reviewed", "below_standard", "closed"),
    ],
)
def test_reviews_and_what_hr_decided_in_them(kind, state, review, decided):
    ruled = Ruled("S5", "S5", "unchanged", kind == "probation", None if kind == "probation"
                  else review)  # fmt: skip
    got = outcome(ruled, kind, state)
    assert (got.review, got.review_decision) == (review, decided)


@pytest.mark.parametrize("flag", ["facts_revised", "employee_changed: grade S5 → S7"])
def test_a_case_held_for_hr_reads_pending(flag):
    got = outcome(UP, "promotion", "nominated", flagged=flag)
    assert (got.outcome, got.to_grade, got.effective_from) == ("pending", "S5", None)
    assert got.why("en") == "data changed after the decision → waiting for HR"


def test_other_flags_do_not_hold_a_case():
    assert outcome(UP, "promotion", "nominated", flagged="missing score_2026Q2").outcome == (
        "promoted"
    )


def test_the_last_approved_override_sets_the_outcome_and_its_date():
    blocked = Overruled(3, "unchanged", "S5")
    got = outcome(UP, "promotion", "approved", overrides=[blocked])
    assert (got.outcome, got.to_grade, got.effective_from) == ("unchanged", "S5", None)
    assert (got.overrides, got.why("en"), got.why("zh")) == ((3,), "override #3", "人工调整 #3")
    milder = Overruled(4, "demoted", "S4", date(2026, 12, 1))
    again = outcome(DOWN, "demotion", "announced", overrides=[Overruled(2, "unchanged", "S5"),
                                                              milder])  # fmt: skip
    assert (again.outcome, again.to_grade, again.overrides) == ("demoted", "S4", (2, 4))
    assert again.effective_from == date(2026, 12, 1)
    # an override without a date of its own takes the cycle's
    assert outcome(DOWN, "demotion", "announced", overrides=[Overruled(5, "demoted", "S3")]
                   ).effective_from == EFFECTIVE  # fmt: skip


@pytest.mark.parametrize(
    ("to_grade", "expected"), [("S7", "promoted"), ("S3", "demoted"), ("S5", "unchanged")]
)
def test_a_grade_set_outright_reads_up_down_or_unchanged(to_grade, expected):
    got = outcome(Ruled("S5", "S5", "unchanged"), "evaluation", "decided",
                  overrides=[Overruled(1, "set", to_grade)])  # fmt: skip
    assert got.outcome == expected


def test_a_grade_outside_the_track_is_a_bug_not_a_guess():
    with pytest.raises(ValueError, match="must be grades of the track"):
        outcome(Ruled("S5", "S5", "unchanged"), "evaluation", "decided",
                overrides=[Overruled(1, "set", "X9")])  # fmt: skip
