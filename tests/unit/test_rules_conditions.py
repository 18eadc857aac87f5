"""The condition language: parsing, type checks with suggestions, three-valued evaluation."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoflow.rules import conditions
from promoflow.rules.conditions import (
    All,
    Any_,
    Compare,
    ConditionSyntaxError,
    compare,
    comparisons,
    evaluate,
    facts_of,
    parse_condition,
    render,
    settle,
    settler,
)
from promoflow.rules.packs import bundled_packs

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
    with pytest.raises(ConditionSyntaxError, match="did you mean") as err:
        parse_condition("months_in_grade >= 3 and scor_q >= 80", FACTS)
    assert str(err.value) == "unknown fact 'scor_q'; did you mean 'score_q'?"
    assert err.value.column == 26


@pytest.mark.parametrize(
    "text, message, column",
    [
        ("score_q >=", "expected a fact or a number, found the end", 11),
        ("score_q 80", "expected a comparison (>=, >, <=, <, ==, !=) after score_q, found '80'", 9),
        ("score_q", "expected a comparison (>=, >, <=, <, ==, !=) after score_q, found the end", 8),
        (
            "score_q >= attainment_q",
            "compare a fact with a number, not two facts (score_q >= attainment_q)",
            1,
        ),
        ("80 >= 70", "a comparison needs a fact on one side", 1),
        ("flag >= 1", "flag is true or false: compare it with == true or == false", 1),
        ("flag == 1", "flag is true or false: compare it with == true or == false", 1),
        ("flag >= true", "flag is true or false: compare it with == true or == false", 1),
        ("score_q == true", "score_q is a number: compare it with a number", 1),
        ("true == score_q", "score_q is a number: compare it with a number", 9),
        ("score_q >= 80.1234567", "80.1234567 has more than 6 decimal places", 1),
        ("attainment_q > 80.12345%", "0.8012345 has more than 6 decimal places", 1),
        ("score_q >= 1000000000000", "1000000000000 is too large for a threshold", 1),
        ("(score_q >= 80", "missing ')'", 15),
        ("score_q >= 80 and (flag == true", "missing ')'", 32),
        ("score_q >= 80 80", "unexpected '80'; expected 'and' or 'or'", 15),
        ("score_q >= 80; drop", "unexpected character ';'", 14),
        ("score_q >= 80 ;", "unexpected character ';'", 15),
        ("score_q >= and", "expected a fact or a number, found 'and'", 12),
        ("score_q >= or", "expected a fact or a number, found 'or'", 12),
        ("score_q >= NOT", "expected a fact or a number, found 'not'", 12),
        ("score_q >= )", "expected a fact or a number, found ')'", 12),
        ("months_in_grade >= 3 and", "expected a fact or a number, found the end", 25),
        ("not", "expected a fact or a number, found the end", 4),
        ("zzz >= 1", "unknown fact 'zzz'", 1),
        ("", "the condition is empty", 1),
        ("   ", "the condition is empty", 1),
        ("__import__('os') >= 1", 'unexpected character "\'"', 12),
    ],
)
def test_malformed_conditions_are_refused_with_a_plain_reason_and_its_column(text, message, column):
    with pytest.raises(ConditionSyntaxError, match=r"^.") as err:
        parse_condition(text, FACTS)
    assert str(err.value) == message
    assert err.value.column == column


def test_a_syntax_error_may_have_no_column():
    assert ConditionSyntaxError("bad").column is None
    assert ConditionSyntaxError("bad", 3).column == 3


def test_a_missing_fact_that_cannot_change_the_answer_is_not_needed():
    node = parse_condition("months_in_grade >= 3 and score_q >= 80", FACTS)
    assert evaluate(node, {"months_in_grade": 2}) is False
    assert evaluate(node, {"months_in_grade": 3}) is None
    value, why = settle(node, {"months_in_grade": 3})
    assert value is None
    assert [cmp.fact for cmp, held in why if held is None] == ["score_q"]


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


# --- parsing, exactly -------------------------------------------------------------------------


def test_keywords_and_truth_values_are_case_insensitive():
    node = parse_condition("NOT score_q < 80 AND flag == TRUE Or months_in_grade > 1", FACTS)
    assert node == Any_(
        (
            All((Compare("score_q", ">=", D(80)), Compare("flag", "==", True))),
            Compare("months_in_grade", ">", D(1)),
        )
    )


def test_whitespace_and_line_breaks_between_tokens_do_not_matter():
    assert parse_condition("  score_q\n>=\t80  ", FACTS) == Compare("score_q", ">=", D(80))
    assert parse_condition("score_q>=80", FACTS) == Compare("score_q", ">=", D(80))


@pytest.mark.parametrize(
    "text, op",
    [("80 >= score_q", "<="), ("80 > score_q", "<"), ("80 <= score_q", ">="),
     ("80 < score_q", ">"), ("80 == score_q", "==")],
)  # fmt: skip
def test_every_operator_is_flipped_when_the_number_is_on_the_left(text, op):
    assert parse_condition(text, FACTS) == Compare("score_q", op, D(80))


@pytest.mark.parametrize(
    "text, node",
    [
        ("score_q ≥ 80", Compare("score_q", ">=", D(80))),
        ("score_q ≤ 80", Compare("score_q", "<=", D(80))),
        ("score_q = 80", Compare("score_q", "==", D(80))),
        ("score_q ≠ 80", Any_((Compare("score_q", "<", D(80)), Compare("score_q", ">", D(80))))),
    ],
)
def test_unicode_signs_and_a_single_equals_mean_the_ascii_operators(text, node):
    assert parse_condition(text, FACTS) == node


@pytest.mark.parametrize(
    "text, op",
    [("not score_q >= 80", "<"), ("not score_q < 80", ">="), ("not score_q > 80", "<="),
     ("not score_q <= 80", ">"), ("not score_q != 80", "=="), ("not not score_q > 80", ">")],
)  # fmt: skip
def test_not_negates_every_operator(text, op):
    assert parse_condition(text, FACTS) == Compare("score_q", op, D(80))


def test_not_equal_under_not_of_equal_is_below_or_above():
    assert parse_condition("not score_q == 80", FACTS) == Any_(
        (Compare("score_q", "<", D(80)), Compare("score_q", ">", D(80)))
    )


@pytest.mark.parametrize(
    "text, value",
    [
        ("flag == true", True),
        ("flag == false", False),
        ("flag != true", False),
        ("flag != false", True),
        ("flag ≠ true", False),
        ("not flag == true", False),
        ("not flag != true", True),
        ("true == flag", True),
        ("false != flag", True),
    ],
)
def test_a_flag_compares_only_by_equality_and_not_equal_flips_the_value(text, value):
    assert parse_condition(text, FACTS) == Compare("flag", "==", value)


def test_a_flag_compared_with_not_equal_holds_exactly_when_the_flag_differs():
    node = parse_condition("flag != true", FACTS)
    assert evaluate(node, {"flag": False}) is True
    assert evaluate(node, {"flag": True}) is False
    assert evaluate(node, {}) is None


def test_numbers_and_percentages_are_read_exactly():
    assert parse_condition("score_q >= 79.5", FACTS) == Compare("score_q", ">=", D("79.5"))
    assert parse_condition("attainment_q >= 80.5%", FACTS).value == D("0.805")
    assert parse_condition("attainment_q >= 100%", FACTS).value == D(1)
    assert parse_condition("score_q >= 0", FACTS).value == D(0)


def test_thresholds_at_the_limits_are_accepted():
    big = parse_condition("score_q < 999999999999.999999", FACTS)
    assert big == Compare("score_q", "<", D("999999999999.999999"))
    assert parse_condition("score_q > 80.123456", FACTS).value == D("80.123456")


def test_a_number_on_the_left_of_a_fact_that_is_unknown_is_refused_at_the_fact():
    with pytest.raises(ConditionSyntaxError, match=r"^unknown fact 'zzz'$") as err:
        parse_condition("score_q >= 1 and 80 <= zzz", FACTS)
    assert err.value.column == 24


def test_and_or_of_the_same_kind_are_flattened_and_mixed_ones_nested():
    a, b, c = (Compare(f, ">", D(1)) for f in ("score_q", "attainment_q", "months_in_grade"))
    text = "score_q > 1 and (attainment_q > 1 and months_in_grade > 1)"
    assert parse_condition(text, FACTS) == All((a, b, c))
    text = "(score_q > 1 or attainment_q > 1) or months_in_grade > 1"
    assert parse_condition(text, FACTS) == Any_((a, b, c))
    text = "score_q > 1 or (attainment_q > 1 and months_in_grade > 1)"
    assert parse_condition(text, FACTS) == Any_((a, All((b, c))))
    assert parse_condition("(((score_q > 1)))", FACTS) == a


def test_not_of_an_or_becomes_an_and_of_the_negations():
    node = parse_condition("not (score_q >= 80 or months_in_grade > 3) and flag == true", FACTS)
    assert node == All(
        (
            Compare("score_q", "<", D(80)),
            Compare("months_in_grade", "<=", D(3)),
            Compare("flag", "==", True),
        )
    )


def test_comparisons_print_as_hr_writes_them():
    assert str(Compare("score_q", ">=", D("80.0"))) == "score_q >= 80"
    assert str(Compare("score_q", "<", D("79.50"))) == "score_q < 79.50"
    assert str(Compare("score_q", "<", D("1E+2"))) == "score_q < 100"
    assert str(Compare("flag", "==", True)) == "flag == true"
    assert str(Compare("flag", "==", False)) == "flag == false"


def test_render_parenthesises_only_nested_joins():
    node = parse_condition("score_q >= 80 and (attainment_q > 0.8 or flag == false)", FACTS)
    assert render(node) == "score_q >= 80 and (attainment_q > 0.8 or flag == false)"
    assert render(parse_condition("score_q != 80", FACTS)) == "score_q < 80 or score_q > 80"
    assert render(Compare("score_q", ">=", D(80))) == "score_q >= 80"


def test_comparisons_lists_every_comparison_left_to_right():
    node = parse_condition("score_q > 1 or (score_q < 0 and flag == true)", FACTS)
    assert comparisons(node) == [
        Compare("score_q", ">", D(1)),
        Compare("score_q", "<", D(0)),
        Compare("flag", "==", True),
    ]
    assert facts_of(node) == ["score_q", "flag"]


# --- evaluating, exactly ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, below, on, above",
    [(">=", False, True, True), (">", False, False, True), ("<=", True, True, False),
     ("<", True, False, False), ("==", False, True, False)],
)  # fmt: skip
def test_each_operator_compares_exactly_on_and_around_the_threshold(op, below, on, above):
    assert compare(D("79.99"), op, D(80)) is below
    assert compare(D("80.00"), op, D(80)) is on
    assert compare(81, op, D(80)) is above
    node = Compare("score_q", op, D(80))
    assert [evaluate(node, {"score_q": v}) for v in (D("79.99"), 80, D("80.01"))] == [
        below,
        on,
        above,
    ]


def test_a_fact_given_as_none_is_missing():
    node = parse_condition("score_q >= 80", FACTS)
    assert evaluate(node, {"score_q": None}) is None
    assert settle(node, {"score_q": None}) == (None, [(node, None)])


AND = "score_q >= 80 and attainment_q > 80% and months_in_grade >= 3"
OR = "score_q < 60 or attainment_q < 50% or months_in_grade < 1"


def _cmps(text):
    return comparisons(parse_condition(text, FACTS))


def test_a_true_and_is_settled_by_all_its_parts():
    s, a, m = _cmps(AND)
    facts = {"score_q": D(80), "attainment_q": D("0.81"), "months_in_grade": 3}
    assert settle(parse_condition(AND, FACTS), facts) == (True, [(s, True), (a, True), (m, True)])


def test_a_false_and_is_settled_by_its_first_false_part_even_beside_a_missing_one():
    _, a, _ = _cmps(AND)
    facts = {"attainment_q": D("0.8"), "months_in_grade": 2}
    assert settle(parse_condition(AND, FACTS), facts) == (False, [(a, False)])


def test_an_unknown_and_is_settled_by_every_missing_part():
    s, _, m = _cmps(AND)
    facts = {"attainment_q": D("0.9")}
    assert settle(parse_condition(AND, FACTS), facts) == (None, [(s, None), (m, None)])


def test_a_true_or_is_settled_by_its_first_true_part():
    _, a, m = _cmps(OR)
    facts = {"score_q": D(70), "attainment_q": D("0.4"), "months_in_grade": 0}
    assert settle(parse_condition(OR, FACTS), facts) == (True, [(a, True)])
    assert settle(parse_condition(OR, FACTS), {"months_in_grade": 0}) == (True, [(m, True)])


def test_a_false_or_is_settled_by_all_its_parts_and_an_unknown_one_by_its_missing_parts():
    s, a, m = _cmps(OR)
    facts = {"score_q": D(60), "attainment_q": D("0.5"), "months_in_grade": 1}
    assert settle(parse_condition(OR, FACTS), facts) == (
        False,
        [(s, False), (a, False), (m, False)],
    )
    assert settle(parse_condition(OR, FACTS), {"attainment_q": D(1)}) == (
        None,
        [(s, None), (m, None)],
    )


def test_a_nested_condition_is_settled_part_by_part():
    text = "(score_q >= 80 or attainment_q >= 100%) and months_in_grade >= 3"
    node = parse_condition(text, FACTS)
    s, a, m = comparisons(node)
    assert settle(node, {"attainment_q": D(1), "months_in_grade": 3}) == (
        True,
        [(a, True), (m, True)],
    )
    assert settle(node, {"score_q": D(1), "attainment_q": D(1), "months_in_grade": 2}) == (
        False,
        [(m, False)],
    )
    assert settle(node, {"score_q": D(1), "months_in_grade": 5}) == (None, [(a, None)])
    assert settle(node, {"score_q": D(1), "attainment_q": D(0), "months_in_grade": 5}) == (
        False,
        [(s, False), (a, False)],
    )
    assert evaluate(node, {"score_q": D(90)}) is None
    assert evaluate(node, {"score_q": D(90), "months_in_grade": 3}) is True


def test_a_compiled_condition_reports_each_comparison_as_marked():
    node = parse_condition("score_q >= 80 and flag == false", FACTS)
    settle_it = settler(node, mark=str)
    assert settle_it({"score_q": D(80), "flag": False}) == (
        True,
        [("score_q >= 80", True), ("flag == false", True)],
    )
    assert settle_it({"flag": True}) == (False, [("flag == false", False)])
    assert settler(node)({"flag": False}) == (None, [(comparisons(node)[0], None)])


def _unknown(node, facts) -> list[str]:
    """The facts settle names as leaving the condition unknown (what a pending reason lists)."""
    value, why = settle(node, facts)
    return [] if value is not None else [cmp.fact for cmp, held in why if held is None]


def test_settle_names_the_missing_facts_that_leave_the_condition_unknown():
    node = parse_condition(AND, FACTS)
    assert _unknown(node, {}) == ["score_q", "attainment_q", "months_in_grade"]
    assert _unknown(node, {"score_q": D(90), "months_in_grade": 3}) == ["attainment_q"]
    assert _unknown(node, {"score_q": D(1)}) == []


def test_a_condition_at_a_reused_address_is_compiled_afresh():
    node = parse_condition("score_q >= 80", FACTS)
    other = parse_condition("score_q < 80", FACTS)
    conditions._SETTLERS[id(node)] = (other, settler(other))  # as if id(node) were reused
    try:
        assert evaluate(node, {"score_q": D(90)}) is True
        assert conditions._SETTLERS[id(node)][0] is node
    finally:
        conditions._SETTLERS.pop(id(node), None)


def test_compiled_conditions_are_kept_up_to_a_limit():
    nodes = [Compare("score_q", ">=", D(i)) for i in range(conditions._SETTLERS_KEPT + 1)]
    for i, node in enumerate(nodes):
        assert evaluate(node, {"score_q": D(i)}) is True
        assert len(conditions._SETTLERS) <= conditions._SETTLERS_KEPT
    assert conditions._SETTLERS[id(nodes[-1])][0] is nodes[-1]


BUNDLED = [r.node for p in bundled_packs().values() for r in p.rules]


def _one_by_one(node):
    """The same condition with each comparison in an ``and`` of its own, so that no join
    is made of comparisons only: settled through a closure per comparison."""
    if isinstance(node, Compare):
        return All((node,))
    return type(node)(tuple(_one_by_one(part) for part in node.parts))


@st.composite
def _rule_and_facts(draw):
    node = draw(st.sampled_from(BUNDLED))
    facts = {}
    for cmp in comparisons(node):
        if isinstance(cmp.value, bool):
            choices = [True, False, None]
        else:
            choices = [cmp.value - D("0.01"), cmp.value, cmp.value + D("0.01"), None]
        facts[cmp.fact] = draw(st.sampled_from(choices))
    return node, facts


@given(_rule_and_facts())
def test_a_join_of_comparisons_settles_as_through_a_closure_per_comparison(case):
    node, facts = case
    assert settler(node, mark=str)(facts) == settler(_one_by_one(node), mark=str)(facts)
