"""Property: a results file imports whole when every row is good, else names exactly the bad rows.

Rows are drawn from employees the cycle invited to the written test, employees it evaluated
without inviting, and unknown ones; stages valid and not; values readable and not. An
oracle written from INTERCHANGE.md says which rows are bad; the import must agree line for
line, and a refused file must leave nothing behind.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from promoflow.engine.cycles import service as cycles
from promoflow.engine.cycles import steps
from promoflow.engine.packs.store import load_bundled
from promoflow.engine.storage.models import Decision, Employee, StageResult
from promoflow.errors import InputError
from tests.functional.import_files import import_results

TZ = ZoneInfo("Asia/Shanghai")
CYCLE = "sales-2026Q3"
INVITED = ["P1", "P2", "P3"]
NOT_INVITED = ["P4"]
UNKNOWN = ["P9"]


@pytest.fixture
def opened(rt):
    now = datetime(2026, 10, 8, 9, tzinfo=TZ)
    with rt.sessions() as session, session.begin():
        load_bundled(session, now)
        steps._create_cycle(session, CYCLE, now)
        for eid in INVITED + NOT_INVITED:
            session.add(
                Employee(
                    employee_id=eid,
                    name=eid,
                    track="sales",
                    grade="S5",
                    grade_since=date(2025, 1, 1),
                    updated_at=now,
                )
            )
        session.flush()
        for eid in INVITED + NOT_INVITED:
            promoted = eid in INVITED
            session.add(
                Decision(
                    cycle_id=CYCLE,
                    employee_id=eid,
                    outcome="promoted" if promoted else "unchanged",
                    from_grade="S5",
                    to_grade="S6" if promoted else "S5",
                    rule="r",
                    pack_id="sales",
                    pack_version=session.get(cycles.Cycle, CYCLE).pack_version,
                    facts={},
                    thresholds={},
                    reasons_zh=[],
                    reasons_en=[],
                    missing=[],
                    decided_at=now,
                )
            )
        session.flush()
        steps.run_milestone(session, CYCLE, "open", now, "t")
    return rt


def _good_value(value: str) -> bool:
    if value.strip().lower() in {"pass", "fail", "通过", "不通过"}:
        return True
    try:
        number = Decimal(value)
    except InvalidOperation:
        return False
    return number.is_finite() and 0 <= number <= 100


rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "employee_id": st.sampled_from(INVITED + NOT_INVITED + UNKNOWN + [""]),
            "stage": st.sampled_from(["written_test", "written_test", "interview", "typing"]),
            "value": st.one_of(
                st.sampled_from(["60", "59.99", "100", "0", "pass", "fail", "101", "-1", "x", ""]),
                st.decimals(min_value=-10, max_value=110, places=2).map(str),
            ),
        }
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy)
def test_a_results_file_is_refused_exactly_for_its_bad_rows_and_writes_nothing(opened, rows):
    seen: set[tuple[str, str]] = set()
    bad_lines = set()
    for line, row in enumerate(rows, start=2):
        eid, stage, value = row["employee_id"], row["stage"], row["value"]
        key = (eid, stage)
        ok = eid in INVITED and stage == "written_test" and key not in seen and _good_value(value)
        if eid and value and stage in ("written_test", "interview"):
            seen.add(key)  # a complete row for a known stage counts, even if refused later
        if not ok:
            bad_lines.add(line)
    now = datetime(2026, 10, 9, 9, tzinfo=TZ)
    with opened.sessions() as session:
        with session.begin():
            try:
                import_results(session, [{**r, "cycle": CYCLE} for r in rows], "p.csv", now, "t")
            except InputError as error:
                assert {p.line for p in error.problems} == bad_lines
            else:
                assert bad_lines == set()
                assert session.scalar(select(func.count()).select_from(StageResult)) == len(rows)
            session.rollback()
        assert session.scalar(select(func.count()).select_from(StageResult)) == 0
