"""Foreign-key checks of a chunked write stay index lookups (PostgreSQL).

PostgreSQL plans a foreign-key check once per connection, at its first use, and keeps the
plan. Opening a cycle writes cases and notices chunk by chunk, checked against decisions
and cases written by the same transaction: planned against a table that is tiny at the
first chunk, or that statistics call empty, the check scanned the whole growing table for
every row (a 100k open: 95 s instead of 13 s). ``fk_checks_by_index`` plans them by index.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from bench import pipeline
from bench.cycle import CYCLE, PERIOD
from promoflow.engine import parallel
from promoflow.engine.storage.db import fk_checks_by_index, make_engine

#: the query PostgreSQL runs to check a notice's (or an override's) case
CHECK = "EXPLAIN SELECT 1 FROM ONLY cases x WHERE id = 1 FOR KEY SHARE OF x"


def _needs_postgresql(rt) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("foreign-key check plans kept per connection are PostgreSQL's")


def _analyze_now(rt, *tables: str) -> None:
    """Statistics taken now, e.g. by a DBA's routine ANALYZE before the first cycle."""
    with rt.engine.connect() as conn:
        for table in tables:
            conn.execute(text(f"ANALYZE {table}"))
        conn.commit()


def _plan(session) -> str:
    return "\n".join(session.execute(text(CHECK)).scalars())


def test_checks_planned_inside_the_block_use_the_index_and_the_setting_comes_back(rt):
    _needs_postgresql(rt)
    _analyze_now(rt, "cases")  # analysed while empty
    with rt.sessions() as session, session.begin():
        assert "Seq Scan on cases" in _plan(session)  # what the check got before
        with fk_checks_by_index(session):
            assert "Index Scan using pk_cases" in _plan(session)
        assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"
        with pytest.raises(RuntimeError, match="a failed chunk"), fk_checks_by_index(session):
            raise RuntimeError("a failed chunk")
        assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"


def _table_reads(url: str, table: str, inserted: int) -> int:
    """Rows read by sequential scans of ``table``, once the writer's counters are in."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(100):  # a closed backend reports its counters as it exits
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                row = conn.execute(
                    text(
                        "SELECT n_tup_ins, seq_tup_read FROM pg_stat_user_tables WHERE relname = :t"
                    ),
                    {"t": table},
                ).one()
                if row.n_tup_ins >= inserted:
                    return row.seq_tup_read
                time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"the writer's counters for {table} never arrived")


@pytest.mark.slow
def test_opening_in_chunks_never_scans_the_decisions_and_cases_it_checks_against(
    rt, db_url, tmp_path, monkeypatch
):
    _needs_postgresql(rt)
    monkeypatch.setattr(parallel, "CHUNK", 40)  # chunk after chunk, in this process
    times = pipeline.milestone_times(CYCLE)
    pipeline.initialise(rt, times["open"])
    files = pipeline.write_org(400, tmp_path, PERIOD)
    for kind in ("employees", "metrics", "vacancies"):
        pipeline.import_file(rt, kind, files[kind], times["open"])
    _analyze_now(rt, "decisions", "cases", "notices")

    pipeline.run_milestone(rt, CYCLE, "open", times["open"])
    with rt.sessions() as session:
        decided = session.execute(text("SELECT count(*) FROM decisions")).scalar_one()
    rt.engine.dispose()  # the writer's backend exits and reports its counters

    assert decided > 300
    # a check by full scan reads the whole table again for each row checked: measured
    # here without fk_checks_by_index, 74k rows of decisions and 43k of cases (≈ n²/2);
    # with it 424 and 2,144 (reads while the tables were a page or two: the chunks' ids)
    assert _table_reads(db_url, "decisions", decided) < 10 * decided
    assert _table_reads(db_url, "cases", decided) < 10 * decided
