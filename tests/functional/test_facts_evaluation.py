"""Facts built from stored rows decide through the bundled packs exactly on the boundaries."""

from __future__ import annotations

from datetime import date

from promoflow.engine.cycles.evaluation import evaluate_facts
from promoflow.engine.facts.build import build_facts
from tests.functional.test_facts_build import (
    CS,
    RATING,
    SALES,
    _components,
    _employees,
    _metrics,
    _quarter,
)


def _decide(session, pack, period_id, employees):
    facts = build_facts(session, pack, period_id, employees)
    return evaluate_facts(pack, facts, period_id)


def test_sales_quarter_exactly_80_from_monthly_means_nominates_and_missing_quarter_waits(session):
    emps = _employees(
        session,
        [
            ("EXACT", "sales", "S5", date(2026, 7, 1)),
            ("SHORT", "sales", "S5", date(2026, 7, 2)),
            ("NOPREV", "sales", "S5", date(2025, 1, 1)),
            ("LOW", "sales", "S5", date(2025, 1, 1)),
        ],
    )
    rows = []
    for eid in ("EXACT", "SHORT", "NOPREV", "LOW"):
        rows += [(eid, "2026-07", "score", "79.5"), (eid, "2026-08", "score", "80")]
        rows += [(eid, "2026-09", "score", "80.5" if eid != "LOW" else "80.47")]
        rows += [(eid, "2026Q3", "sales_actual", "80.01"), (eid, "2026Q3", "sales_target", "100")]
        if eid != "NOPREV":
            rows += _quarter(eid, "2026Q2", "80", "81", "100")
    _metrics(session, rows)

    results = _decide(session, SALES, "2026Q3", emps)

    assert (results["EXACT"].outcome, results["EXACT"].to_grade) == ("promoted", "S6")
    assert results["SHORT"].outcome == "unchanged"  # 2 months in grade
    assert results["NOPREV"].outcome == "pending"
    assert results["NOPREV"].missing_inputs == [
        "2026Q2 score",
        "2026Q2 sales_actual",
        "2026Q2 sales_target",
    ]
    assert (results["LOW"].outcome, results["LOW"].to_grade) == ("demoted", "S4")  # 79.99


def test_cs_composite_months_averaging_exactly_70_keep_the_grade(session):
    grade = CS.grades[2]
    emps = _employees(
        session,
        [("KEEP", "cs", grade, date(2025, 1, 1)), ("DOWN", "cs", grade, date(2025, 1, 1))],
    )
    boundary = ["66.8", "79.0", "68.3", "83.1", "29.9"]  # exactly 70
    below = ["66.8", "79.0", "68.3", "83.1", "29.8"]  # 69.99
    months = ("2026-07", "2026-08", "2026-09")
    _metrics(
        session,
        [
            *[row for m in months for row in _components("KEEP", m, boundary)],
            *[row for m in months for row in _components("DOWN", m, below)],
        ],
    )
    results = _decide(session, CS, "2026Q3", emps)
    assert (results["KEEP"].outcome, results["KEEP"].to_grade) == ("unchanged", grade)
    assert (results["DOWN"].outcome, results["DOWN"].to_grade) == ("demoted", CS.grades[1])


def test_cs_rating_half_with_a_missing_component_is_pending_naming_it(session):
    emps = _employees(session, [("R1", "cs_rating", "中级", date(2025, 1, 1))])
    _metrics(session, [("R1", "2026H2", "knowledge", "90")])
    result = _decide(session, RATING, "2026H2", emps)["R1"]
    assert result.outcome == "pending"
    assert "2026H2 communication" in result.missing_inputs
