"""The floor reads stored metrics exactly, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from bench.floor import floor_open
from promoflow.engine.storage.models import Employee, Metric, Period

NOW = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)


def _employee(eid: str, grade: str, since: date, track: str = "sales") -> Employee:
    return Employee(
        employee_id=eid, name=eid, track=track, grade=grade, grade_since=since,
        hire_date=date(2024, 1, 1), org_unit="east", updated_at=NOW,
    )  # fmt: skip


def _period(period_id: str, kind: str, starts: date, ends: date) -> Period:
    return Period(period_id=period_id, kind=kind, starts=starts, ends=ends)


def _metrics(eid: str, period: str, score: str, actual: str, target: str) -> list[Metric]:
    return [
        Metric(employee_id=eid, period_id=period, metric=name, value=Decimal(value), updated_at=NOW)
        for name, value in (("score", score), ("sales_actual", actual), ("sales_target", target))
    ]


def test_floor_reads_boundaries_exactly_and_decides_every_s3_to_s9_sales_employee(session):
    session.add_all(
        [
            _period("2026Q2", "quarter", date(2026, 4, 1), date(2026, 6, 30)),
            _period("2026Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30)),
            *(
                _period(f"2026-0{m}", "month", date(2026, m, 1), date(2026, m, 28))
                for m in (7, 8, 9)
            ),
            _employee("E80", "S5", date(2026, 7, 1)),
            _employee("E7999", "S5", date(2025, 1, 1)),
            _employee("EATT", "S6", date(2025, 1, 1)),
            _employee("EMONTHLY", "S8", date(2025, 1, 1)),
            _employee("ESHORT", "S4", date(2026, 7, 2)),
            _employee("ENOPREV", "S4", date(2025, 1, 1)),
            _employee("ETOP", "S10", date(2025, 1, 1)),
            _employee("ECS", "S5", date(2025, 1, 1), track="cs"),
        ]
    )
    session.flush()
    session.add_all(
        [
            *_metrics("E80", "2026Q3", "80", "85", "100"),
            *_metrics("E80", "2026Q2", "80", "81", "100"),
            *_metrics("E7999", "2026Q3", "79.99", "95", "100"),
            *_metrics("EATT", "2026Q3", "95", "80", "100"),
            *_metrics("EATT", "2026Q2", "95", "90", "100"),
            *_metrics("EMONTHLY", "2026Q2", "90", "90", "100"),
            *_metrics("EMONTHLY", "2026-07", "79", "30", "33"),
            *_metrics("EMONTHLY", "2026-08", "80", "30", "33"),
            *_metrics("EMONTHLY", "2026-09", "81", "30", "34"),
            *_metrics("ESHORT", "2026Q3", "90", "90", "100"),
            *_metrics("ESHORT", "2026Q2", "90", "90", "100"),
            *_metrics("ENOPREV", "2026Q3", "90", "90", "100"),
            *_metrics("ETOP", "2026Q3", "90", "90", "100"),
        ]
    )
    session.commit()

    got = {eid: d.key() for eid, d in floor_open(session.get_bind(), "2026Q3").items()}

    assert got == {
        "E80": ("S5", "S6", "promoted", None),
        "E7999": ("S5", "S4", "demoted", None),
        "EATT": ("S6", "S6", "unchanged", None),
        "EMONTHLY": ("S8", "S9", "promoted", None),  # mean(79, 80, 81) = 80; 90/100 > 0.8
        "ESHORT": ("S4", "S4", "unchanged", None),
        "ENOPREV": ("S4", "S4", "pending", None),
    }
