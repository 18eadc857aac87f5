"""Reading stage results against pass marks, and ranking candidates for vacancies."""

from __future__ import annotations

from decimal import Decimal

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


@pytest.mark.parametrize("bad", ["", "abc", "101", "-1", "NaN", "沟通能力=abc"])
def test_unreadable_results_are_refused_with_a_sentence(bad):
    with pytest.raises(ValueError):
        guards.judge("interview", bad)


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
