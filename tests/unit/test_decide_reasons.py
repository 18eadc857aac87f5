"""decide() in words: every kind of decision, with its exact reasons in Chinese and English."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from promoflow.rules.decide import Verdict, _text, _Words, decide, period_labels, plain_verdict
from promoflow.rules.packs import bundled_packs, load_pack_text

TINY = """
id: tiny
title: {zh: 小, en: tiny}
grades: [A, B, C, D]
positions:
  - {id: low, zh: 低岗, en: low post, grades: A..B}
  - {id: high, zh: 高岗, en: high post, grades: C..D}
cadence: [{grades: all, cycle: quarter}]
vacancy: {cycles: [quarter], fact: open_up}
calendar:
  cycles: [quarter]
  milestones:
    - {id: open, month: 1, day: 8, time: "09:00"}
    - {id: announce, month: 1, day: 20, time: "09:00"}
facts:
  months_in_grade: {type: int, zh: 任职月数, en: months in grade}
  flagged: {type: bool, zh: "{q} 违规", en: "{q} violation"}
  score_q: {type: decimal, zh: "{q} 考核分", en: "{q} score"}
  attainment_q: {type: percent, zh: "{q} 达成率", en: "{q} attainment"}
  open_up: {type: int, zh: 上一岗位空缺数, en: open headcount above}
rules:
  - {id: t.flag, cycle: quarter, grades: all, then: demote, steps: 2, probation: true,
     when: flagged == true, at_bottom: {review: dismissal}}
  - {id: t.low, cycle: quarter, grades: all, then: demote, review: elimination, when: score_q < 50}
  - {id: t.late, cycle: quarter, grades: all, then: demote,
     when: months_in_grade > 100 and score_q < 80}
  - {id: t.keep, cycle: quarter, grades: all, then: keep, review: below_standard,
     when: score_q < 60}
  - {id: t.up, cycle: quarter, grades: all, then: promote,
     when: score_q >= 90 and attainment_q > 80% and months_in_grade >= 3}
  - {id: t.jump, cycle: quarter, grades: all, then: promote, steps: 2, review: below_standard,
     when: score_q >= 99}
"""
PACK = load_pack_text(TINY, "tiny.yaml")
#: an employee no rule of TINY touches
CALM = {"flagged": False, "score_q": D(70), "attainment_q": D("0.5"), "months_in_grade": 3}
STAR = {**CALM, "score_q": D(90), "attainment_q": D("0.8001")}
STAR_ZH = "2026Q3 考核分 90 ≥ 90，2026Q3 达成率 80.01% > 80%，任职月数 3 ≥ 3"
STAR_EN = "2026Q3 score 90 ≥ 90, 2026Q3 attainment 80.01% > 80%, months in grade 3 ≥ 3"


def _decide(grade, facts, pack=PACK, kind="quarter", period="2026Q3", verdict=None):
    if verdict is None:
        verdict = plain_verdict(pack.rules_for(kind, grade), facts)
    return decide(pack, kind, "E1", grade, facts, period, verdict)


def _reasons(result):
    return list(zip(result.reasons_zh, result.reasons_en, strict=True))


def test_a_two_step_demotion_with_probation_says_so():
    result = _decide("C", {**CALM, "flagged": True})
    assert (result.outcome, result.to_grade, result.rule) == ("demoted", "A", "t.flag")
    assert result.probation is True and result.review is None
    assert _reasons(result) == [
        (
            "2026Q3 违规 是 = 是 → 降2级（C → A），并试用一个月",
            "2026Q3 violation 是 = 是 → down 2 grades (C → A), with a one-month probation",
        )
    ]


def test_a_demotion_of_more_steps_than_grades_below_stops_at_the_lowest():
    result = _decide("B", {**CALM, "flagged": True})
    assert (result.outcome, result.to_grade) == ("demoted", "A")
    assert result.reasons_en[0].endswith("→ down 2 grades (B → A), with a one-month probation")


def test_a_one_step_demotion_keeps_its_review_and_has_no_probation():
    result = _decide("C", {**CALM, "score_q": D("49.5")})
    assert (result.outcome, result.to_grade, result.rule) == ("demoted", "B", "t.low")
    assert (result.probation, result.review) == (False, "elimination")
    assert _reasons(result) == [
        (
            "2026Q3 考核分 49.5 < 50 → 降一级（C → B）",
            "2026Q3 score 49.5 < 50 → down one grade (C → B)",
        )
    ]


def test_a_demotion_at_the_lowest_grade_keeps_it_flags_the_review_and_keeps_the_probation():
    # POLICY.md §2: the probation follows the score, not the move
    result = _decide("A", {**CALM, "flagged": True})
    assert (result.outcome, result.to_grade, result.probation) == ("unchanged", "A", True)
    assert result.review == "dismissal"
    assert _reasons(result) == [
        (
            "2026Q3 违规 是 = 是 → 已是最低职级 A，转劝退评审，并试用一个月",
            "2026Q3 violation 是 = 是 → already at the lowest grade A; dismissal review, "
            "with a one-month probation",
        )
    ]


def test_at_the_lowest_grade_a_rule_without_at_bottom_flags_its_own_review():
    result = _decide("A", {**CALM, "score_q": D(0)})
    assert (result.outcome, result.review) == ("unchanged", "elimination")
    assert _reasons(result) == [
        (
            "2026Q3 考核分 0 < 50 → 已是最低职级 A，转淘汰评审",
            "2026Q3 score 0 < 50 → already at the lowest grade A; elimination review",
        )
    ]


def test_at_the_lowest_grade_a_rule_without_any_review_is_left_to_hr():
    result = _decide("A", {**CALM, "months_in_grade": 101})
    assert (result.outcome, result.to_grade, result.review) == ("unchanged", "A", None)
    assert _reasons(result) == [
        ("任职月数 101 > 100，2026Q3 考核分 70 < 80 → 已是最低职级 A，转人力资源处理",
         "months in grade 101 > 100, 2026Q3 score 70 < 80"
         " → already at the lowest grade A; HR to decide")
    ]  # fmt: skip


def test_a_keep_rule_with_a_review_stays_and_names_the_review():
    result = _decide("C", {**CALM, "score_q": D("59.99")})
    assert (result.outcome, result.to_grade, result.review) == ("unchanged", "C", "below_standard")
    assert _reasons(result) == [
        ("2026Q3 考核分 59.99 < 60 → 保持 C，低于标准，人力资源复核",
         "2026Q3 score 59.99 < 60 → stays at C; below standard, HR review")
    ]  # fmt: skip


def test_when_no_rule_holds_each_rule_says_which_comparison_failed():
    result = _decide("C", CALM)
    assert (result.outcome, result.to_grade, result.rule) == ("unchanged", "C", None)
    assert _reasons(result) == [
        ("t.flag 不满足：2026Q3 违规 否 ≠ 是", "t.flag not met: 2026Q3 violation 否 ≠ 是"),
        ("t.low 不满足：2026Q3 考核分 70 ≥ 50", "t.low not met: 2026Q3 score 70 ≥ 50"),
        ("t.late 不满足：任职月数 3 ≤ 100", "t.late not met: months in grade 3 ≤ 100"),
        ("t.keep 不满足：2026Q3 考核分 70 ≥ 60", "t.keep not met: 2026Q3 score 70 ≥ 60"),
        ("t.up 不满足：2026Q3 考核分 70 < 90", "t.up not met: 2026Q3 score 70 < 90"),
        ("t.jump 不满足：2026Q3 考核分 70 < 99", "t.jump not met: 2026Q3 score 70 < 99"),
        ("→ 保持 C", "→ stays at C"),
    ]
    assert result.facts == {
        "flagged": "false",
        "score_q": "70",
        "months_in_grade": "3",
        "attainment_q": "0.5",
    }
    assert result.thresholds == {
        "t.flag": ["flagged == true"],
        "t.low": ["score_q < 50"],
        "t.late": ["months_in_grade > 100", "score_q < 80"],
        "t.keep": ["score_q < 60"],
        "t.up": ["score_q >= 90", "attainment_q > 0.8", "months_in_grade >= 3"],
        "t.jump": ["score_q >= 99"],
    }
    assert result.missing == [] and result.missing_inputs == [] and result.overridden == []


def test_a_rule_that_fails_on_a_missing_fact_shows_the_fact_as_a_dash():
    facts = {"flagged": None, "score_q": D(70), "months_in_grade": 3}
    result = _decide("C", facts, verdict=Verdict("none"))
    assert result.reasons_en[0] == "t.flag not met: 2026Q3 violation — = 是"
    assert result.reasons_zh[0] == "t.flag 不满足：2026Q3 违规 — = 是"
    assert result.facts["flagged"] is None and result.facts["attainment_q"] is None


def test_a_promotion_into_another_position_with_an_opening_needs_the_vacancy():
    result = _decide("B", {**STAR, "open_up": 2})
    assert (result.outcome, result.to_grade, result.rule) == ("promoted", "C", "t.up")
    assert result.needs_vacancy is True
    assert result.facts["open_up"] == "2"
    assert _reasons(result) == [
        (f"{STAR_ZH} → 升一级（B → C）", f"{STAR_EN} → up one grade (B → C)")
    ]


@pytest.mark.parametrize("open_up", [0, -1])
def test_a_promotion_into_another_position_without_an_opening_stays(open_up):
    result = _decide("B", {**STAR, "open_up": open_up})
    assert (result.outcome, result.to_grade, result.needs_vacancy) == ("unchanged", "B", False)
    assert _reasons(result) == [
        (
            f"{STAR_ZH} → 高岗 无空缺，不予提名，保持 B",
            f"{STAR_EN} → no vacancy for high post in the org unit; not nominated, stays at B",
        )
    ]


def test_a_promotion_whose_headcount_is_missing_is_pending_and_names_the_input():
    facts = {**STAR, "missing_for": {"open_up": ["2026Q3 headcount", "2026Q3 headcount"]}}
    result = _decide("B", facts)
    assert (result.outcome, result.to_grade, result.needs_vacancy) == ("pending", "B", False)
    assert result.missing == ["open_up"]
    assert result.missing_inputs == ["2026Q3 headcount"]
    assert result.facts["open_up"] is None
    assert _reasons(result) == [
        (
            f"{STAR_ZH} → 缺少高岗空缺数 → 待定",
            f"{STAR_EN} → open headcount for high post is missing → pending",
        )
    ]


def test_a_promotion_within_the_position_needs_no_vacancy():
    result = _decide("A", STAR)
    assert (result.outcome, result.to_grade, result.needs_vacancy) == ("promoted", "B", False)
    assert "open_up" not in result.facts
    assert result.reasons_en == [f"{STAR_EN} → up one grade (A → B)"]


def test_a_promotion_at_the_top_grade_stays():
    result = _decide("D", STAR)
    assert (result.outcome, result.to_grade) == ("unchanged", "D")
    assert _reasons(result) == [
        (
            f"{STAR_ZH} → 已是最高职级，保持 D",
            f"{STAR_EN} → already at the top grade; stays at D",
        )
    ]


def test_a_decision_that_needs_missing_facts_is_pending_and_names_them_and_their_inputs():
    facts = {
        "flagged": False,
        "score_q": D(95),
        "missing_for": {
            "attainment_q": ["2026Q3 target", "2026Q3 sales"],
            "months_in_grade": ["2026Q3 target", "hire date"],
            "score_q": ["never read"],
        },
    }
    result = _decide("C", facts)
    assert (result.outcome, result.to_grade, result.rule) == ("pending", "C", "t.up")
    assert result.missing == ["attainment_q", "months_in_grade"]
    assert result.missing_inputs == ["2026Q3 target", "2026Q3 sales", "hire date"]
    assert _reasons(result) == [
        (
            "缺少 2026Q3 达成率、任职月数，无法判断 t.up → 待定，交人力资源处理",
            "missing 2026Q3 attainment, months in grade, so t.up cannot be decided"
            " → pending, flagged for HR",
        )
    ]


def test_missing_inputs_are_read_only_from_a_mapping():
    facts = {"flagged": False, "score_q": D(95), "missing_for": ["attainment_q"]}
    result = _decide("C", facts)
    assert result.missing == ["attainment_q", "months_in_grade"]
    assert result.missing_inputs == []


def test_an_unknown_verdict_on_a_rule_that_is_decided_names_nothing_missing():
    result = _decide("C", CALM, verdict=Verdict("unknown", "t.up"))
    assert (result.outcome, result.missing) == ("pending", [])
    assert result.reasons_en == ["missing , so t.up cannot be decided → pending, flagged for HR"]


def test_a_demotion_that_beats_a_promotion_says_the_promotion_matched_too():
    result = _decide("C", {**CALM, "flagged": True, "score_q": D(95), "attainment_q": D(1)})
    assert (result.outcome, result.to_grade, result.overridden) == ("demoted", "A", ["t.up"])
    assert _reasons(result) == [
        (
            "2026Q3 违规 是 = 是 → 降2级（C → A），并试用一个月",
            "2026Q3 violation 是 = 是 → down 2 grades (C → A), with a one-month probation",
        ),
        (
            "晋升规则 t.up 同时满足，降级优先",
            "promotion rule t.up also matched; demotion takes precedence",
        ),
    ]


def test_the_decision_records_who_and_which_pack_and_period():
    result = _decide("C", CALM, period="2026Q1")
    assert (result.employee_id, result.from_grade, result.pack_id) == ("E1", "C", "tiny")
    assert (result.pack_version, result.period_id) == (PACK.version, "2026Q1")
    assert result.reasons_en[1] == "t.low not met: 2026Q1 score 70 ≥ 50"


def test_each_decision_gets_its_own_lists():
    first, second = _decide("C", CALM), _decide("C", CALM)
    assert first.thresholds == second.thresholds
    assert first.thresholds["t.up"] is not second.thresholds["t.up"]
    first.reasons_en.append("x")
    assert second.reasons_en[-1] == "→ stays at C"


def test_a_nomination_with_stages_says_the_test_and_interview_follow():
    sales = bundled_packs()["sales"]
    facts = {
        "months_in_grade": 3,
        "score_q": D(80),
        "attainment_q": D("0.81"),
        "score_prev_q": D(85),
        "attainment_prev_q": D("0.9"),
    }
    result = _decide("S3", facts, pack=sales)
    assert (result.outcome, result.to_grade) == ("promoted", "S4")
    assert result.reasons_zh[0].endswith("→ 提名晋升（S3 → S4），须通过笔试和面试")
    assert result.reasons_en[0].endswith(
        "→ nominated for promotion (S3 → S4); written test and interview follow"
    )
    assert result.reasons_en[0].startswith("months in grade 3 ≥ 3, 2026Q3 score 80 ≥ 80, ")
    assert "2026Q2 score 85 ≥ 80" in result.reasons_en[0]


@pytest.mark.parametrize(
    "composite, rule, outcome, zh, en",
    [
        (
            D(75),
            "cs_rating.band.中级",
            "promoted",
            "升至 中级（原 初级）",
            "up to 中级 (from 初级)",
        ),
        (D(60), "cs_rating.band.初级", "unchanged", "保持 初级", "stays at 初级"),
    ],
)
def test_a_band_sets_the_grade_up_or_keeps_it(composite, rule, outcome, zh, en):
    pack = bundled_packs()["cs_rating"]
    result = _decide(
        "初级", {"composite": composite, "months_in_grade": 12}, pack, "half", "2026H2"
    )
    assert (result.rule, result.outcome) == (rule, outcome)
    assert result.reasons_zh[0].endswith(f"→ {zh}")
    assert result.reasons_en[0].endswith(f"→ {en}")


def test_a_band_below_the_current_grade_sets_it_down():
    pack = bundled_packs()["cs_rating"]
    result = _decide("高级", {"composite": D(65), "months_in_grade": 12}, pack, "half", "2026H2")
    assert (result.outcome, result.to_grade) == ("demoted", "初级")
    assert result.reasons_en == ["2026H2 composite score 65 ≥ 60, 2026H2 composite score 65 < 70"
                                 " → down to 初级 (from 高级)"]  # fmt: skip
    assert result.reasons_zh == [
        "2026H2 综合评分 65 ≥ 60，2026H2 综合评分 65 < 70 → 降至 初级（原 高级）"
    ]


def test_plain_verdict_takes_the_first_rule_that_holds_or_is_unknown():
    rules = PACK.rules_for("quarter", "C")
    assert plain_verdict(rules, CALM) == Verdict("none")
    assert plain_verdict(rules, {**CALM, "score_q": D(10)}) == Verdict("holds", "t.low")
    assert plain_verdict(rules, {**CALM, "flagged": None}) == Verdict("unknown", "t.flag")
    assert plain_verdict(rules, {**STAR, "flagged": True}) == Verdict("holds", "t.flag", "t.up")
    # a promotion that may hold is not named as overridden
    maybe = {**STAR, "flagged": True, "months_in_grade": None}
    assert plain_verdict(rules, maybe) == Verdict("holds", "t.flag")
    assert plain_verdict(rules, {**STAR, "score_q": D(55)}) == Verdict("holds", "t.keep")
    assert Verdict("none") == Verdict("none", None, None)


@pytest.mark.parametrize(
    "period, labels",
    [
        ("2026Q1", {"period": "2026Q1", "q": "2026Q1", "prev_q": "2025Q4"}),
        ("2026H2", {"period": "2026H2", "q": "2026Q4", "prev_q": "2026Q3"}),
        ("2026H1", {"period": "2026H1", "q": "2026Q2", "prev_q": "2026Q1"}),
        ("2026-07", {"period": "2026-07", "q": "2026-07", "prev_q": "2026-06"}),
        ("2026-01", {"period": "2026-01", "q": "2026-01", "prev_q": "2025-12"}),
    ],
)
def test_period_labels_name_the_period_its_last_quarter_and_the_one_before(period, labels):
    assert period_labels(period) == labels


def test_a_promotion_of_more_steps_than_grades_above_stops_at_the_top_and_keeps_its_review():
    result = _decide("C", {**CALM, "score_q": D("99.5")})
    assert (result.outcome, result.to_grade, result.rule) == ("promoted", "D", "t.jump")
    assert (result.review, result.needs_vacancy) == ("below_standard", False)
    assert _reasons(result) == [
        (
            "2026Q3 考核分 99.5 ≥ 99 → 升一级（C → D）",
            "2026Q3 score 99.5 ≥ 99 → up one grade (C → D)",
        )
    ]


def test_the_overridden_promotion_is_the_first_that_holds_not_the_last_rule():
    rules = PACK.rules_for("quarter", "A")
    assert [r.id for r in rules] == ["t.flag", "t.low", "t.late", "t.keep", "t.up", "t.jump"]
    assert plain_verdict(rules, {**STAR, "flagged": True}) == Verdict("holds", "t.flag", "t.up")
    both = {**STAR, "flagged": True, "score_q": D(99)}
    assert plain_verdict(rules, both) == Verdict("holds", "t.flag", "t.up")
    jump = {**CALM, "flagged": True, "score_q": D(99)}
    assert plain_verdict(rules, jump) == Verdict("holds", "t.flag", "t.jump")
    assert plain_verdict(rules, {**jump, "flagged": False}) == Verdict("holds", "t.jump")


def test_missing_inputs_of_a_fact_the_mapping_does_not_name_are_none():
    facts = {"flagged": False, "score_q": D(95), "missing_for": {"open_up": ["headcount"]}}
    result = _decide("C", facts)
    assert result.missing == ["attainment_q", "months_in_grade"]
    assert result.missing_inputs == []


def test_words_of_a_fact_the_pack_does_not_declare_are_its_name_as_a_decimal():
    words = _Words(PACK, "2026Q3")
    assert (words.label("nope", "zh"), words.label("nope", "en")) == ("nope", "nope")
    assert words.ftype("nope") == "decimal"
    assert (words.label("score_q", "en"), words.ftype("score_q")) == ("2026Q3 score", "decimal")
    assert words.ftype("flagged") == "bool"


@pytest.mark.parametrize(
    "value, text", [(None, None), (True, "true"), (False, "false"), (3, "3"), (D("0.50"), "0.50")]
)
def test_a_fact_is_stored_as_its_exact_text(value, text):
    assert _text(value) == text


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        (D("89.99999"), "89.99999 < 90"),  # not "≈90 < 90"
        (D("89.999996"), "89.999996 < 90"),
        (D("89.99999999999999999999999997"), "89.99999999999999999999999997 < 90"),
    ],
)
def test_a_rounded_value_never_reads_as_its_own_threshold(score, shown):
    result = _decide("B", {**STAR, "score_q": score})
    words = " ".join(result.reasons_en)
    assert f"2026Q3 score {shown}" in words and "≈90 < 90" not in words
    assert "2026Q3 score ≈90 ≥ 50" in words  # apart from 50 already: four places do


def test_a_value_rounded_apart_from_its_threshold_keeps_the_four_places():
    result = _decide("B", {**STAR, "score_q": D("89.123456")})
    assert "≈89.1235 < 90" in " ".join(result.reasons_en)
