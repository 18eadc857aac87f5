"""A small real sales quarter for the override, replay and what-if tests.

Eight S3/S5 sales staff with two quarters of metrics, imported through the import
services, the bundled packs loaded as ``promoflow init`` loads them, and the cycle
``sales-2026Q3`` opened (facts built, rules evaluated, decisions and cases stored). Users:
``olivia`` (hr_officer), ``mia`` and ``max`` (hr_manager), ``vic`` (viewer).

Under the bundled pack (promotion needs score ≥ 80 in both quarters) E01, E02, E03, E04
and E06 are promoted; with the threshold moved to 85, E02 (82), E03 (84.99) and E06 (80)
no longer are. E05 is demoted, E07 (attainment exactly 80 %) unchanged, E08 (S3, score
70) goes to elimination review.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from promoflow.engine.cycles import steps
from promoflow.engine.imports import run_import
from promoflow.engine.packs.store import load_bundled
from promoflow.engine.storage.models.users import User, UserRole

TZ = ZoneInfo("Asia/Shanghai")
LOADED = datetime(2026, 10, 1, 9, 0, tzinfo=TZ)
OPEN = datetime(2026, 10, 8, 9, 0, tzinfo=TZ)
CYCLE = "sales-2026Q3"

#: employee → grade, (Q2 score, Q2 attainment %), (Q3 score, Q3 attainment %)
PEOPLE = {
    "E01": ("S5", ("90", "95"), ("90", "95")),
    "E02": ("S5", ("88", "95"), ("82", "95")),
    "E03": ("S5", ("90", "95"), ("84.99", "95")),
    "E04": ("S5", ("85", "95"), ("85", "95")),
    "E05": ("S5", ("90", "95"), ("75", "95")),
    "E06": ("S5", ("80", "90"), ("80", "90")),
    "E07": ("S5", ("90", "95"), ("82", "80")),
    "E08": ("S3", ("90", "95"), ("70", "95")),
}
CHANGED_AT_85 = {"E02", "E03", "E06"}
USERS = {"olivia": "hr_officer", "mia": "hr_manager", "max": "hr_manager", "vic": "viewer"}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def seed_cycle(rt, tmp_path: Path, open_cycle: bool = True) -> None:
    """Packs, users, employees, metrics, and the opened cycle ``sales-2026Q3``."""
    employees = [
        [e, f"员工{e}", "sales", grade, "2025-10-01", "2024-03-15", "east", ""]
        for e, (grade, _, _) in PEOPLE.items()
    ]
    metrics = []
    for e, (_, q2, q3) in PEOPLE.items():
        for period, (score, attainment) in (("2026Q2", q2), ("2026Q3", q3)):
            metrics += [
                [e, period, "score", score],
                [e, period, "sales_actual", attainment],
                [e, period, "sales_target", "100"],
            ]
    emp_csv = _write(
        tmp_path / "employees.csv",
        ["employee_id", "name", "track", "grade", "grade_since", "hire_date", "org_unit",
         "position"],
        employees,
    )  # fmt: skip
    met_csv = _write(
        tmp_path / "metrics.csv", ["employee_id", "period", "metric", "value"], metrics
    )
    with rt.sessions() as s, s.begin():
        load_bundled(s, LOADED)
        for name, role in USERS.items():
            # straight into the tables: these tests never log in, and argon2 is slow on purpose
            s.add(User(username=name, display_name=name, password_hash="-", language="zh",
                       active=True, created_at=LOADED, updated_at=LOADED))  # fmt: skip
            s.add(UserRole(username=name, role=role))
        run_import(s, "employees", emp_csv, LOADED, "importer")
        run_import(s, "metrics", met_csv, LOADED, "importer")
    if open_cycle:
        with rt.sessions() as s, s.begin():
            steps.run_milestone(s, CYCLE, "open", OPEN, "scheduler")
