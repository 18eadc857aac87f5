"""The condition language: parsing, type checks with suggestions, three-valued evaluation."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from promoflow.rules.conditions import (
    All,
    Any_,
    Compare,
    ConditionSyntaxError,
    evaluate,
    facts_of,
    missing_facts,
    parse_condition,
    render,
)

FACTS = {"score_q": "decimal", "attainment_q": "percent", "months_in_grade": "int", "flag": "bool"}


def test_a_policy_sentence_parses_into_comparisons_joined_by_and():
    node = parse_condition("score_q >= 80 and attainment_q > 0.8", FACTS)
    assert node == All((Compare("score_q", ">=", D(80)), Compare("attainment_q", ">", D("0.8"))))


def test_percent_literals_are_exact_fractions():
    node = parse_condition("attainment_q > 80%", FACTS)
    assert node == Compare("attainment_q", ">", D("0.8"))


def test_and_binds_tighter_than_or_and_parentheses_override():
    node = parse_condition("score_q < 80 or attainment_q < 0.8 and months_in_grade >= 3", FACTS)
    assert isinstance(node, Any_) and isinstance(node.parts[1], All)
    node = parse_condition("(score_q < 80 or attainment_q < 0.8) and months_in_grade >= 3", FACTS)
    assert isinstance(node, All) and isinstance(node.parts[0], Any_)


def test_not_is_pushed_down_into_the_comparisons():
    node = parse_condition("not (score_q >= 80 and attainment_q > 0.8)", FACTS)
    assert node == Any_((Compare("score_q", "<", D(80)), Compare("attainment_q", "<=", D("0.8"))))


def test_a_number_on_the_left_is_flipped_to_the_fact_side():
    assert parse_condition("80 <= score_q", FACTS) == Compare("score_q", ">=", D(80))


def test_not_equal_becomes_below_or_above():
    assert parse_condition("score_q != 80", FACTS) == Any_(
        (Compare("score_q", "<", D(80)), Compare("score_q", ">", D(80)))
    )


def test_unicode_comparison_signs_are_accepted():
    assert parse_condition("score_q ≥ 80", FACTS) == Compare("score_q", ">=", D(80))


def test_a_misspelt_fact_is_refused_with_a_suggestion_and_its_position():
    with pytest.raises(ConditionSyntaxError) as err:
        parse_condition("months_in_grade >= 3 and scor_q >= 80", FACTS)
    assert "unknown fact 'scor_q'" in str(err.value)
    assert "did you mean 'score_q'" in str(err.value)
    assert err.value.column == 26


@pytest.mark.parametrize(
    "text, words",
    [
        ("score_q >=", "expected a fact or a number"),
        ("score_q 80", "expected a comparison"),
        ("score_q >= attainment_q", "not two facts"),
        ("flag >= 1", "true or false"),
        ("score_q == true", "is a number"),
        ("score_q >= 80.1234567", "more than 6 decimal places"),
        ("score_q >= 1000000000000", "too large for a threshold"),
        ("(score_q >= 80", "missing ')'"),
        ("score_q >= 80 80", "expected 'and' or 'or'"),
        ("score_q >= 80; drop", "unexpected character"),
        ("", "empty"),
        ("__import__('os') >= 1", "unexpected character"),
    ],
)
def test_malformed_conditions_are_refused_with_a_plain_reason(text, words):
    with pytest.raises(ConditionSyntaxError) as err:
        parse_condition(text, FACTS)
    assert words in str(err.value)


def test_a_missing_fact_that_cannot_change_the_answer_is_not_needed():
    node = parse_condition("months_in_grade >= 3 and score_q >= 80", FACTS)
    assert evaluate(node, {"months_in_grade": 2}) is False
    assert evaluate(node, {"months_in_grade": 3}) is None
    assert missing_facts(node, {"months_in_grade": 3}) == ["score_q"]


def test_one_true_part_of_an_or_decides_despite_a_missing_part():
    node = parse_condition("score_q < 80 or attainment_q < 0.8", FACTS)
    assert evaluate(node, {"attainment_q": D("0.5")}) is True
    assert evaluate(node, {"attainment_q": D("0.9")}) is None
    assert evaluate(node, {"attainment_q": D("0.9"), "score_q": D(80)}) is False


def test_comparisons_are_exact_at_the_boundary():
    node = parse_condition("score_q >= 80", FACTS)
    assert evaluate(node, {"score_q": D("80.000")}) is True
    assert evaluate(node, {"score_q": D("79.999999999")}) is False


def test_facts_of_lists_each_fact_once_in_order():
    node = parse_condition("score_q >= 70 and score_q <= 80 or months_in_grade > 1", FACTS)
    assert facts_of(node) == ["score_q", "months_in_grade"]


def test_render_gives_back_a_condition_that_parses_to_the_same_tree():
    node = parse_condition("not (score_q >= 80 or flag == true) and attainment_q > 0.8", FACTS)
    assert parse_condition(render(node), FACTS) == node
