"""Exact arithmetic of facts: means, weighted composites, window sums and attainment."""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from promoflow.rules.facts.values import EmployeeMetrics, mean, tidy, weighted_sum
from promoflow.rules.periods import parse_period

D = Decimal
CS_WEIGHTS = {
    "return_visit": D("0.20"),
    "satisfaction": D("0.20"),
    "handling": D("0.25"),
    "training": D("0.25"),
    "attendance": D("0.10"),
}
Q3 = parse_period("2026Q3")
H2 = parse_period("2026H2")

#: scores as imported: 0–100 with up to 6 decimal places (Numeric(20, 6))
scores = st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False)


def _terminates(value: Fraction) -> bool:
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    return den == 1


@given(st.lists(scores, min_size=3, max_size=3), scores)
def test_quarter_mean_of_three_monthly_scores_is_the_exact_decimal_mean(months, threshold):
    m = EmployeeMetrics({(f"2026-0{7 + i}", "score"): v for i, v in enumerate(months)})
    result = m.quarter_score(Q3)
    exact = sum(Fraction(v) for v in months) / 3
    assert m.missing == []
    if _terminates(exact):
        assert Fraction(result) == exact
    else:
        assert abs(Fraction(result) - exact) < Fraction(1, 10**24)
    # rounding never moves the mean across a threshold stored with 6 decimals
    assert (result >= threshold) == (exact >= Fraction(threshold))
    assert (result > threshold) == (exact > Fraction(threshold))


@st.composite
def weights_summing_to_one(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    return {f"c{i}": D(bounds[i + 1] - bounds[i]) / D(10_000) for i in range(count)}


@given(weights_summing_to_one())
def test_weighted_composite_of_all_80_components_is_exactly_80(weights):
    assert sum(weights.values()) == 1
    result = weighted_sum(dict.fromkeys(weights, D(80)), weights)
    assert result == 80
    assert str(result) == "80"


@given(weights_summing_to_one(), st.lists(scores, min_size=8, max_size=8))
def test_weighted_composite_equals_the_exact_fraction_sum(weights, values):
    components = dict(zip(weights, values, strict=False))
    expected = sum(Fraction(weights[k]) * Fraction(components[k]) for k in weights)
    assert Fraction(weighted_sum(components, weights)) == expected


def test_weighted_composite_on_the_70_boundary_is_exactly_70():
    components = dict(
        zip(CS_WEIGHTS, map(D, ["66.8", "79.0", "68.3", "83.1", "29.9"]), strict=True)
    )
    assert weighted_sum(components, CS_WEIGHTS) == D(70)
    assert str(weighted_sum(components, CS_WEIGHTS)) == "70"


def test_mean_that_terminates_is_exact():
    assert mean([D("79.5"), D("80"), D("80.5")]) == D(80)
    assert mean([D(80), D(80), D(81)]) > D(80)


def test_tidy_drops_trailing_zeros_without_exponent_form():
    assert str(tidy(D("80.000000"))) == "80"
    assert str(tidy(D("100"))) == "100"
    assert str(tidy(D("79.500000"))) == "79.5"


def test_quarter_row_is_used_before_monthly_scores():
    m = EmployeeMetrics({("2026Q3", "score"): D("85"), ("2026-07", "score"): D("10")})
    assert m.quarter_score(Q3) == D(85)
    assert m.missing == []


def test_quarter_with_nothing_stored_is_missing_under_the_quarter_name():
    m = EmployeeMetrics({})
    assert m.quarter_score(Q3) is None
    assert m.missing == ["2026Q3 score"]


def test_quarter_with_one_month_absent_names_that_month():
    m = EmployeeMetrics({("2026-07", "score"): D(80), ("2026-09", "score"): D(80)})
    assert m.quarter_score(Q3) is None
    assert m.missing == ["2026-08 score"]


def test_monthly_score_is_the_weighted_sum_of_components_without_a_score_row():
    values = {("2026-07", k): D(80) for k in CS_WEIGHTS}
    m = EmployeeMetrics(values)
    assert m.monthly_score(parse_period("2026-07"), CS_WEIGHTS) == D(80)


def test_monthly_score_row_wins_over_components():
    values = {("2026-07", k): D(80) for k in CS_WEIGHTS} | {("2026-07", "score"): D(55)}
    assert EmployeeMetrics(values).monthly_score(parse_period("2026-07"), CS_WEIGHTS) == D(55)


def test_a_missing_component_is_named_with_its_month():
    values = {("2026-07", k): D(80) for k in CS_WEIGHTS if k != "attendance"}
    m = EmployeeMetrics(values)
    assert m.monthly_score(parse_period("2026-07"), CS_WEIGHTS) is None
    assert m.missing == ["2026-07 attendance"]


def test_quarter_of_component_months_names_every_absent_input():
    values = {(month, k): D(90) for month in ("2026-07", "2026-08") for k in CS_WEIGHTS}
    values[("2026-09", "handling")] = D(90)
    m = EmployeeMetrics(values)
    assert m.quarter_score(Q3, CS_WEIGHTS) is None
    assert m.missing == [
        "2026-09 return_visit",
        "2026-09 satisfaction",
        "2026-09 training",
        "2026-09 attendance",
    ]


def test_quarter_mean_of_composite_months():
    values = {(month, k): D(v) for month, v in [("2026-07", 70), ("2026-08", 80), ("2026-09", 90)]
              for k in CS_WEIGHTS}  # fmt: skip
    assert EmployeeMetrics(values).quarter_score(Q3, CS_WEIGHTS) == D(80)


def test_attainment_sums_months_when_no_quarter_row():
    values = {
        ("2026-07", "sales_actual"): D(30),
        ("2026-08", "sales_actual"): D(30),
        ("2026-09", "sales_actual"): D(20),
        ("2026Q3", "sales_target"): D(100),
    }
    m = EmployeeMetrics(values)
    assert m.attainment(Q3) == D("0.8")
    assert m.missing == []


def test_attainment_just_above_80_percent_stays_above():
    values = {("2026Q3", "sales_actual"): D("80.01"), ("2026Q3", "sales_target"): D(100)}
    assert EmployeeMetrics(values).attainment(Q3) == D("0.8001")


def test_zero_target_is_missing_not_a_division():
    values = {("2026Q3", "sales_actual"): D(5), ("2026Q3", "sales_target"): D(0)}
    m = EmployeeMetrics(values)
    assert m.attainment(Q3) is None
    assert m.missing == ["2026Q3 sales_target is 0"]


def test_absent_actual_and_target_are_both_named():
    m = EmployeeMetrics({})
    assert m.attainment(Q3) is None
    assert m.missing == ["2026Q3 sales_actual", "2026Q3 sales_target"]


def test_half_total_mixes_quarter_rows_and_months():
    values = {
        ("2026Q3", "sales_actual"): D(100),
        ("2026-10", "sales_actual"): D(10),
        ("2026-11", "sales_actual"): D(10),
        ("2026-12", "sales_actual"): D("0.5"),
        ("2026H2", "sales_target"): D(150),
    }
    m = EmployeeMetrics(values)
    assert m.total(H2, "sales_actual") == D("120.5")
    assert m.attainment(H2) == Context(prec=28).divide(D("120.5"), D(150))


def test_half_total_names_the_deepest_absent_part():
    values = {("2026Q3", "sales_actual"): D(100), ("2026-10", "sales_actual"): D(10)}
    m = EmployeeMetrics(values)
    assert m.total(H2, "sales_actual") is None
    assert m.missing == ["2026-11 sales_actual", "2026-12 sales_actual"]


def test_half_composite_reads_the_half_score_row_first():
    weights = {"knowledge": D("0.3"), "communication": D("0.7")}
    m = EmployeeMetrics({("2026H2", "score"): D("69.99"), ("2026H2", "knowledge"): D(1)})
    assert m.composite(H2, weights) == D("69.99")


def test_half_composite_with_a_missing_component_names_it():
    weights = {"knowledge": D("0.3"), "communication": D("0.7")}
    m = EmployeeMetrics({("2026H2", "knowledge"): D(70)})
    assert m.composite(H2, weights) is None
    assert m.missing == ["2026H2 communication"]


amounts = st.decimals(min_value=0, max_value=10**8, places=6, allow_nan=False, allow_infinity=False)
marks = st.decimals(min_value=0, max_value=2, places=4, allow_nan=False, allow_infinity=False)


@given(amounts, amounts.filter(lambda t: t > 0), marks)
@example(D(80), D(100), D("0.8"))
@example(D("80.01"), D(100), D("0.8001"))
@example(D("79.999999"), D(100), D("0.8"))
@example(D(1), D(3), D("0.3333"))
def test_attainment_compares_with_any_mark_as_the_exact_fraction_does(actual, target, mark):
    m = EmployeeMetrics({("2026Q3", "sales_actual"): actual, ("2026Q3", "sales_target"): target})
    attainment = m.attainment(Q3)
    exact = Fraction(actual) / Fraction(target)
    assert (attainment > mark) == (exact > Fraction(mark))
    assert (attainment < mark) == (exact < Fraction(mark))
    assert (attainment == mark) == (exact == Fraction(mark))


def test_remembered_conversion_answers_as_the_column_type_does():
    from sqlalchemy import Numeric
    from sqlalchemy.dialects import sqlite

    from promoflow.engine.facts.load import _remembered

    convert = Numeric(20, 6).result_processor(sqlite.dialect(), None)
    remembered = _remembered(convert)
    raws = [84.2, 360000, 84.2, 1, 1.0, -0.0, 0, 0.0, 433872, 1e-07, 360000]
    assert [str(remembered(r)) for r in raws] == [str(convert(r)) for r in raws]
    assert str(remembered(-0.0)) == "-0.000000"
