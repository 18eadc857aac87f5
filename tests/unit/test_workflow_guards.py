"""Reading stage results against pass marks, and ranking candidates for vacancies."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoflow.workflow import guards
from promoflow.workflow.vacancies import Candidate, allocate, rank


def test_pass_and_fail_words_in_english_and_chinese_are_read():
    assert guards.judge("interview", "PASS").passed
    assert guards.judge("interview", "通过").passed
    assert not guards.judge("interview", "fail").passed
    assert not guards.judge("interview", "不通过").passed


def test_the_pack_pass_mark_overrides_the_policy_default():
    assert not guards.judge("written_test", "65", {"written_test": Decimal(70)}).passed
    assert guards.judge("written_test", "60").passed


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "value is empty: give a score, pass or fail"),
        ("   ", "value is empty: give a score, pass or fail"),
        ("abc", "'abc' is not a score, pass or fail"),
        ("101", "score 101 is outside 0–100"),
        ("100.01", "score 100.01 is outside 0–100"),
        ("-1", "score -1 is outside 0–100"),
        ("-0.01", "score -0.01 is outside 0–100"),
        ("NaN", "score NaN is outside 0–100"),
        ("Infinity", "score Infinity is outside 0–100"),
        ("沟通能力=abc", "competency rating '沟通能力=abc': 'abc' is not a number"),
        ("沟通能力=8=5", "competency rating '沟通能力=8=5': '8=5' is not a number"),
    ],
)
def test_unreadable_results_are_refused_with_a_sentence(bad, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        guards.judge("interview", bad)


def test_a_pass_word_is_read_as_recorded_without_a_score_or_pass_mark():
    verdict = guards.judge("interview", "  Passed ")
    assert verdict == guards.Verdict("interview", "Passed", None, True, None)
    assert guards.judge("interview", "合格").passed is True
    assert guards.judge("interview", "FAILED").passed is False
    assert guards.judge("interview", "不合格").passed is False
    assert verdict.explain() == "interview recorded as Passed"
    assert guards.judge("written_test", "fail").explain() == "written_test recorded as fail"


def test_a_score_exactly_on_the_pass_mark_passes_and_just_below_fails():
    on = guards.judge("written_test", " 60 ")
    assert on == guards.Verdict("written_test", "60", Decimal(60), True, Decimal(60))
    assert on.explain() == "written_test score 60 passes (pass mark 60)"
    below = guards.judge("written_test", "59.99")
    assert below.passed is False and below.score == Decimal("59.99")
    assert below.explain() == "written_test score 59.99 fails (pass mark 60)"


@pytest.mark.parametrize("value, passed", [("0", False), ("100", True), ("50", True)])
def test_scores_of_exactly_0_and_100_are_read(value, passed):
    verdict = guards.judge("probation_review", value)
    assert verdict.score == Decimal(value)
    assert verdict.pass_mark == Decimal(50)
    assert verdict.passed is passed


def test_result_passed_is_the_verdict_s_own_answer():
    assert guards.result_passed(guards.judge("interview", "60")) is True
    assert guards.result_passed(guards.judge("interview", "59")) is False


def test_the_pass_mark_is_the_pack_s_else_the_policy_default_else_refused():
    assert guards.pass_mark("interview", {"interview": 75}) == Decimal(75)
    assert isinstance(guards.pass_mark("interview", {"interview": 75}), Decimal)
    assert guards.pass_mark("interview", {"written_test": Decimal(70)}) == Decimal(60)
    assert guards.pass_mark("probation_review", None) == Decimal(50)
    assert guards.pass_mark("written_test", {}) == Decimal(60)
    with pytest.raises(ValueError, match=r"^no pass mark for stage 'essay'$"):
        guards.pass_mark("essay", None)
    with pytest.raises(ValueError, match=r"^no pass mark for stage 'essay'$"):
        guards.judge("essay", "70")
    assert guards.judge("essay", "pass", {}).passed  # a bare pass needs no pass mark


def test_ratings_exactly_0_and_100_are_accepted_and_just_outside_refused():
    assert guards.parse_ratings("沟通能力=0;团队协作=100") == {
        "沟通能力": Decimal(0),
        "团队协作": Decimal(100),
    }
    for bad in ("团队协作=100.01", "团队协作=-0.5"):
        with pytest.raises(ValueError, match=f"^competency rating '{bad}' is outside 0–100$"):
            guards.parse_ratings(bad)


def test_ratings_accept_chinese_separators_and_spaces_and_skip_empty_parts():
    ratings = guards.parse_ratings(" 沟通能力：85 ； 团队协作: 70;; 产品知识 = 60 ;")
    assert ratings == {"沟通能力": Decimal(85), "团队协作": Decimal(70), "产品知识": Decimal(60)}


@pytest.mark.parametrize("part", ["沟通能力", "=85", " = 85"])
def test_a_rating_without_a_name_or_number_is_refused_naming_it(part):
    with pytest.raises(ValueError, match=r"is not NAME=NUMBER$") as err:
        guards.parse_ratings(part + ";团队协作=70")
    assert str(err.value) == f"competency rating {part.strip()!r} is not NAME=NUMBER"


def test_competency_score_is_the_weighted_average_and_needs_ratings():
    ratings = {"沟通能力": Decimal(90), "团队协作": Decimal(60), "关系能力": Decimal(30)}
    # policy default: 沟通能力 (core) counts twice → (180 + 60 + 30) / 4
    assert guards.competency_score(ratings) == Decimal("67.5")
    weights = {"沟通能力": Decimal(1), "团队协作": Decimal(3), "关系能力": Decimal(2)}
    # the pack's weights: (90 + 180 + 60) / 6
    assert guards.competency_score(ratings, weights) == Decimal(55)
    assert guards.competency_score({"a": Decimal(10)}, {"a": Decimal(5)}) == Decimal(10)
    with pytest.raises(ValueError, match=r"^no competency ratings$"):
        guards.competency_score({})


def test_an_unknown_competency_lists_the_known_ascii_names_sorted():
    weights = {"teamwork": Decimal(1), "沟通能力": Decimal(2), "communication": Decimal(2)}
    known = "unknown competency 'charm' (known: communication, teamwork)"
    with pytest.raises(ValueError, match=f"^{re.escape(known)}$"):
        guards.competency_score({"charm": Decimal(90)}, weights)


def test_ratings_judged_against_the_pass_mark_keep_each_rating():
    verdict = guards.judge("interview", "沟通能力=60;团队协作=57", {"interview": Decimal(59)})
    assert verdict.score == Decimal(59) and verdict.passed is True
    assert verdict.pass_mark == Decimal(59)
    assert verdict.value == "沟通能力=60;团队协作=57"
    assert verdict.ratings == (("沟通能力", Decimal(60)), ("团队协作", Decimal(57)))
    assert verdict.explain() == "interview score 59 passes (pass mark 59)"
    assert (
        guards.judge("interview", "沟通能力：60；团队协作：57", {"interview": 60}).passed is False
    )
    assert guards.judge("interview", "团队协作:61").score == Decimal(61)


def test_competency_weights_take_the_first_model_s_weight_under_every_name():
    first = SimpleNamespace(
        competencies=[SimpleNamespace(id="talk", zh="沟通", en="speaking", weight=2)]
    )
    second = SimpleNamespace(
        competencies=[
            SimpleNamespace(id="talk", zh="谈话", en="talking", weight=5),
            SimpleNamespace(id="know", zh="知识", en="knowledge", weight="1.5"),
        ]
    )
    weights = guards.competency_weights({"a": first, "b": second})
    assert weights == {
        "talk": Decimal(2),
        "沟通": Decimal(2),
        "speaking": Decimal(2),
        "谈话": Decimal(5),
        "talking": Decimal(5),
        "know": Decimal("1.5"),
        "知识": Decimal("1.5"),
        "knowledge": Decimal("1.5"),
    }
    assert all(isinstance(w, Decimal) for w in weights.values())
    assert guards.competency_weights(None) == {}
    assert guards.competency_weights({}) == {}


def test_competency_ratings_weigh_the_core_five_double():
    # 沟通能力 (core, ×2) 50, 团队协作 (×1) 80 → (100 + 80) / 3 = 60 → passes exactly
    verdict = guards.judge("interview", "沟通能力=50;团队协作=80")
    assert verdict.score == Decimal(60)
    assert verdict.passed


def _c(eid, test, interview, attainment, months, unit="east", pos="sales_manager"):
    return Candidate(eid, unit, pos, test, interview, attainment, months)


def test_vacancies_go_by_average_then_attainment_then_months_then_id():
    a = _c("E3", Decimal(80), Decimal(90), Decimal("0.9"), 10)  # avg 85
    b = _c("E2", Decimal(90), Decimal(80), Decimal("0.95"), 10)  # avg 85, better attainment
    c = _c("E1", Decimal(90), Decimal(80), Decimal("0.95"), 10)  # same as b, lower id
    d = _c("E0", Decimal(70), Decimal(70), Decimal("1.5"), 99)  # avg 70
    assert [x.employee_id for x in rank([a, b, c, d])] == ["E1", "E2", "E3", "E0"]
    winners, losers = allocate([a, b, c, d], {("east", "sales_manager"): 2})
    assert [w.employee_id for w in winners] == ["E1", "E2"]
    assert [x.employee_id for x in losers] == ["E3", "E0"]


def test_months_in_grade_breaks_a_tie_of_score_and_attainment():
    old = _c("E9", Decimal(80), Decimal(80), Decimal("0.9"), 12)
    new = _c("E1", Decimal(80), Decimal(80), Decimal("0.9"), 6)
    assert [x.employee_id for x in rank([new, old])] == ["E9", "E1"]


def test_headcount_of_another_org_unit_is_not_used():
    winners, losers = allocate(
        [_c("E1", Decimal(99), Decimal(99), Decimal(1), 12, unit="west")],
        {("east", "sales_manager"): 3},
    )
    assert winners == [] and len(losers) == 1


scores = st.decimals(min_value=0, max_value=100, places=2)


@given(
    st.lists(
        st.tuples(
            scores, scores, st.decimals(min_value=0, max_value=2, places=4), st.integers(0, 60)
        ),
        max_size=12,
    ),
    st.integers(0, 15),
)
def test_allocation_never_exceeds_headcount_and_every_winner_outranks_every_loser(rows, open_):
    cands = [_c(f"E{i:02d}", t, iv, a, m) for i, (t, iv, a, m) in enumerate(rows)]
    winners, losers = allocate(cands, {("east", "sales_manager"): open_})
    assert len(winners) == min(open_, len(cands))
    assert len(winners) + len(losers) == len(cands)
    ordered = rank(cands)
    assert ordered[: len(winners)] == winners


def test_competency_ratings_use_the_pack_weights_by_id_chinese_or_english_name():
    from promoflow.rules.packs import bundled_packs

    weights = guards.competency_weights(bundled_packs()["sales"].competency_models)
    by_id = guards.judge("interview", "communication=50;teamwork=80", weights=weights)
    by_zh = guards.judge("interview", "沟通能力=50;团队协作=80", weights=weights)
    assert by_id.score == by_zh.score == Decimal(60)
    with pytest.raises(ValueError, match="unknown competency 'charm'"):
        guards.judge("interview", "charm=90", weights=weights)
