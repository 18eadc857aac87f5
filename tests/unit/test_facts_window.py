"""Which periods a cycle's facts read, and that an absent input is named, never defaulted."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from promoflow.engine.facts.build import Window
from promoflow.rules.facts.values import EmployeeMetrics
from promoflow.rules.periods import parse_period

D = Decimal


def test_a_quarterly_cycle_reads_its_quarter_and_the_one_before_across_a_year_end():
    window = Window.of("2026Q1", probation_offset=2)
    assert (window.quarter.id, window.prev_quarter.id) == ("2026Q1", "2025Q4")
    assert window.probation_month.id == "2026-05"
    assert {"2025-10", "2025-11", "2025-12", "2025Q4", "2026Q1"} <= window.period_ids()


def test_a_half_yearly_cycle_reads_both_quarters_of_the_half():
    window = Window.of("2026H2", probation_offset=2)
    assert (window.prev_quarter.id, window.quarter.id) == ("2026Q3", "2026Q4")
    assert {"2026H2", "2026Q3", "2026Q4", "2026-07", "2026-12"} <= window.period_ids()


def test_a_probation_month_points_back_to_the_cycle_that_set_the_probation():
    window = Window.of("2026-11", probation_offset=2)
    assert window.probation_cycle.id == "2026Q3"
    assert window.probation_month.id == "2026-11"
    assert Window.of("2027-02", probation_offset=2).probation_cycle.id == "2026Q4"
    assert Window.of("2026Q4", probation_offset=2).probation_month.id == "2027-02"


SALES_ROWS = [
    (period, metric)
    for period in ("2026Q3", "2026-07", "2026-08", "2026-09")
    for metric in ("score", "sales_actual", "sales_target")
]


@given(st.sets(st.sampled_from(SALES_ROWS)))
def test_any_absent_rows_give_an_exact_figure_or_none_with_only_absent_inputs_named(present):
    # a quarter row holds what its three months add up to (score: what they average to)
    quarter_row = {"score": D(50), "sales_actual": D(150), "sales_target": D(150)}
    m = EmployeeMetrics({(p, k): quarter_row[k] if p == "2026Q3" else D(50) for p, k in present})
    q3 = parse_period("2026Q3")
    score, attainment = m.quarter_score(q3), m.attainment(q3)

    def available(metric: str) -> bool:
        months = all((f"2026-0{n}", metric) in present for n in (7, 8, 9))
        return ("2026Q3", metric) in present or months

    assert (score is not None) == available("score")
    if score is not None:
        assert score == 50
    both = available("sales_actual") and available("sales_target")
    assert (attainment is not None) == both
    if attainment is not None:
        assert attainment == 1
    assert (m.missing == []) == (score is not None and attainment is not None)
    for name in m.missing:
        period, metric = name.split(" ")
        assert (period, metric) not in present
