"""Planner statistics of tables a milestone fills chunk by chunk (PostgreSQL).

A table analysed while empty looks empty to the first foreign-key check of a chunked
write, and that check's plan (a full scan) is kept for the whole write: measured at 100k,
opening a cycle took 95 s instead of 13 s. ``analyze_if_stale`` refreshes such statistics
inside the writing transaction; opening a cycle calls it before the first checks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from bench import pipeline
from bench.cycle import CYCLE, PERIOD
from promoflow.engine.db import analyze_if_stale
from promoflow.engine.models import Case, Decision, Employee

NOW = datetime(2026, 9, 1, 9, tzinfo=UTC)


def _needs_postgresql(rt) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics and plans kept per connection are PostgreSQL's")


def _analyze_now(rt, *tables: str) -> None:
    with rt.engine.connect() as conn:
        for table in tables:
            conn.execute(text(f"ANALYZE {table}"))
        conn.commit()


def _counted(session, table: str) -> float:
    return session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    ).scalar_one()


def test_analyze_if_stale_is_a_no_op_on_sqlite(rt):
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite half of this behaviour")
    with rt.sessions() as session, session.begin():
        assert analyze_if_stale(session, Employee.__table__, 1_000_000) is False


def test_statistics_that_count_fewer_rows_than_written_are_refreshed_in_the_transaction(rt):
    _needs_postgresql(rt)
    _analyze_now(rt, "employees")  # analysed while empty
    with rt.sessions() as session, session.begin():
        assert _counted(session, "employees") == 0
        session.add_all(
            Employee(
                employee_id=f"E{i:03d}", name=f"员工{i}", track="sales", grade="S5",
                grade_since=date(2025, 1, 1), updated_at=NOW,
            )
            for i in range(40)
        )  # fmt: skip
        session.flush()
        assert analyze_if_stale(session, Employee.__table__, 40) is True
        assert _counted(session, "employees") == 40  # the transaction's own rows count
        assert analyze_if_stale(session, Employee.__table__, 40) is False  # fresh now


@pytest.mark.slow
def test_opening_a_cycle_refreshes_decisions_and_cases_analysed_while_empty(rt, tmp_path):
    _needs_postgresql(rt)
    times = pipeline.milestone_times(CYCLE)
    pipeline.initialise(rt, times["open"])
    files = pipeline.write_org(60, tmp_path, PERIOD)
    for kind in ("employees", "metrics", "vacancies"):
        pipeline.import_file(rt, kind, files[kind], times["open"] - timedelta(days=1))
    _analyze_now(rt, "decisions", "cases")  # e.g. a DBA's routine ANALYZE before the cycle

    report = pipeline.run_milestone(rt, CYCLE, "open", times["open"])

    with rt.sessions() as session:
        decided = session.query(Decision).count()
        opened = session.query(Case).count()
        assert decided > 0 and opened == decided, report
        # refreshed before the first case (and notice) was checked against them
        assert _counted(session, "decisions") == decided
        assert _counted(session, "cases") == opened
