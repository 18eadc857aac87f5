"""100k metric rows import in seconds, on SQLite and PostgreSQL (bulk statements, not ORM).

Marked slow: it runs in ``make test`` but is not a timed unit test; the measured times are
printed (``pytest -s``) and attached to the test report as properties.
"""

from __future__ import annotations

import csv
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from promoflow.engine.storage.models import Employee, Metric, MetricRevision
from tests.functional.import_files import LATER, NOW, do_import

EMPLOYEES = 25_000
PERIODS = ("2026Q2", "2026Q3")
NAMES = ("score", "sales_target")  # 25k × 2 periods × 2 metrics = 100k rows


def _write(path, revise_every: int = 0) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["employee_id", "period", "metric", "value"])
        for i in range(EMPLOYEES):
            for period in PERIODS:
                for metric in NAMES:
                    value = (
                        f"{70 + i % 30}.{i % 10}"
                        if metric == "score"
                        else str(10000 * (i % 50 + 1))
                    )
                    if revise_every and i % revise_every == 0 and metric == "score":
                        value = "80"
                    writer.writerow([f"E{i:06d}", period, metric, value])


@pytest.mark.slow
def test_100k_metric_rows_import_in_seconds_and_reimport_changes_nothing(
    rt, tmp_path, record_property
):
    with rt.sessions() as session, session.begin():
        session.execute(
            insert(Employee),
            [
                {
                    "employee_id": f"E{i:06d}",
                    "name": f"员工{i}",
                    "track": "sales",
                    "grade": "S5",
                    "grade_since": date(2025, 1, 1),
                    "active": True,
                    "updated_at": NOW,
                }
                for i in range(EMPLOYEES)
            ],
        )
    first_file, revised_file = tmp_path / "metrics.csv", tmp_path / "revised.csv"
    _write(first_file)
    _write(revised_file, revise_every=25)  # 1k employees × 2 periods get a new score

    timings = {}
    started = time.perf_counter()
    report = do_import(rt, "metrics", first_file)
    timings["first_import_s"] = time.perf_counter() - started
    assert (report.rows, report.changed) == (100_000, 100_000)

    started = time.perf_counter()
    again = do_import(rt, "metrics", first_file, now=LATER)
    timings["reimport_s"] = time.perf_counter() - started
    assert again.changed == 0

    started = time.perf_counter()
    revised = do_import(rt, "metrics", revised_file, now=LATER)
    timings["revised_import_s"] = time.perf_counter() - started
    changed_scores = sum(
        1 for i in range(0, EMPLOYEES, 25) if Decimal(f"{70 + i % 30}.{i % 10}") != 80
    ) * len(PERIODS)
    assert revised.changed == changed_scores

    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Metric)) == 100_000
        assert session.scalar(select(func.count()).select_from(MetricRevision)) == changed_scores
    backend = rt.engine.dialect.name
    for name, seconds in timings.items():
        record_property(f"{backend}_{name}", round(seconds, 2))
    print(f"\n100k metrics on {backend}: " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
