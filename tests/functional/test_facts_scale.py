"""build_facts serves a whole track in a handful of queries, with the right numbers.

The organisation is generated inside the database (a recursive CTE, the same SQL on SQLite
and PostgreSQL) so the test times fact building, not seeding. It runs 20k employees to stay
within the slow-test budget; the 100k measurement of docs/facts.md is the same test with
``PROMOFLOW_FACTS_EMPLOYEES=100000 pytest tests/functional/test_facts_scale.py -s``.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, event, insert, select, text

from promoflow.engine.facts.build import build_facts
from promoflow.engine.storage.models import Employee, Period
from promoflow.engine.storage.models.base import AwareDateTime
from promoflow.rules.periods import parse_period
from tests.functional.test_facts_build import SALES

D = Decimal
NOW = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)
COUNT = int(os.environ.get("PROMOFLOW_FACTS_EMPLOYEES", "20000"))

_SEED_EMPLOYEES = text(
    """
    INSERT INTO employees
        (employee_id, name, track, grade, grade_since, org_unit, active, updated_at)
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last)
    SELECT 'E' || i, 'E' || i, 'sales', 'S5', :since, 'east', :active, :now FROM n
    """
).bindparams(bindparam("now", type_=AwareDateTime()))

# score 70.25 … 89.25 by i % 20; actual i % 100 of a target of 100; Q2 absent for i % 7 = 0
_SEED_METRICS = text(
    """
    INSERT INTO metrics (employee_id, period_id, metric, value, updated_at)
    SELECT e.employee_id, p.period_id, m.metric,
           CASE m.metric
               WHEN 'score' THEN 70.25 + (CAST(SUBSTR(e.employee_id, 2) AS INTEGER) % 20)
               WHEN 'sales_actual' THEN CAST(SUBSTR(e.employee_id, 2) AS INTEGER) % 100
               ELSE 100
           END,
           :now
    FROM employees e
    CROSS JOIN (SELECT '2026Q2' AS period_id UNION ALL SELECT '2026Q3') p
    CROSS JOIN (SELECT 'score' AS metric UNION ALL SELECT 'sales_actual'
                UNION ALL SELECT 'sales_target') m
    WHERE e.track = 'sales'
      AND NOT (p.period_id = '2026Q2' AND CAST(SUBSTR(e.employee_id, 2) AS INTEGER) % 7 = 0)
    """
).bindparams(bindparam("now", type_=AwareDateTime()))


@pytest.mark.slow
def test_a_whole_track_gets_exact_facts_in_a_handful_of_queries(rt, session):
    session.execute(
        insert(Period),
        [
            {"period_id": p.id, "kind": p.kind, "starts": p.starts, "ends": p.ends}
            for p in map(parse_period, ["2026Q2", "2026Q3"])
        ],
    )
    session.execute(
        _SEED_EMPLOYEES, {"last": COUNT - 1, "since": date(2026, 7, 1), "active": True, "now": NOW}
    )
    session.execute(_SEED_METRICS, {"now": NOW})
    session.commit()
    employees = list(session.scalars(select(Employee).where(Employee.track == "sales")))
    assert len(employees) == COUNT

    statements: list[str] = []
    event.listen(rt.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    started, cpu = time.perf_counter(), time.process_time()
    facts = build_facts(session, SALES, "2026Q3", employees)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    queries = len(statements)
    print(f"\nbuild_facts, {COUNT} employees: {elapsed:.2f} s ({cpu:.2f} s CPU), {queries} queries")

    assert queries <= 3
    assert len(facts) == COUNT
    for i in (0, 1, 7, 19, 99, 12_345 % COUNT, COUNT - 1):
        f = facts[f"E{i}"]
        assert f["months_in_grade"] == 3
        assert f["score_q"] == D("70.25") + i % 20
        assert f["attainment_q"] == D(i % 100) / 100
        if i % 7 == 0:
            assert f["score_prev_q"] is None
            assert f["missing"] == ["2026Q2 score", "2026Q2 sales_actual", "2026Q2 sales_target"]
        else:
            assert f["score_prev_q"] == f["score_q"]
            assert f["missing"] == []
