"""A small, realistic cycle for the console tests, written through the models.

The console only reads these tables, so the tests seed them directly (bulk inserts, so
the 100k-employee table test stays fast); actions still go through the real services.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import insert
from sqlalchemy.orm import Session

from promoflow.engine.audit.trail import Event, record_many
from promoflow.engine.storage.models import (
    Case,
    Cycle,
    Decision,
    Employee,
    PackVersion,
    StageResult,
)
from promoflow.engine.users import accounts as users

NOW = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)
#: the bundled sales pack, stored as ``promoflow init`` stores it (version = sha256 of the text)
SALES_TEXT = (Path(__file__).resolve().parents[2] / "rules" / "packs" / "sales.yaml").read_text(
    "utf-8"
)
SALES_VERSION = hashlib.sha256(SALES_TEXT.encode()).hexdigest()
CYCLE = "sales-2026Q3"
EVIL = '<script>alert("x")</script>'
PASSWORD = "pass-word-1"
#: one user per role, and a second manager for four-eyes approval
USERS = {
    "viewer": {"viewer"},
    "officer": {"hr_officer"},
    "manager": {"hr_manager"},
    "manager2": {"hr_manager"},
    "auditor": {"auditor"},
    "admin": {"admin"},
}


def use_cheap_hashing() -> None:
    """Argon2 with minimal cost, for the test suite only (hashes stay valid argon2 hashes).

    Stored hashes carry their own parameters, so a hash made either way verifies either way.
    """
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users._DUMMY_HASH = users._hasher.hash("promoflow-dummy-password")


def add_users(session: Session) -> None:
    """One account per role (password :data:`PASSWORD`), hashed cheaply to keep tests fast."""
    use_cheap_hashing()
    for name, roles in USERS.items():
        users.add_user(session, name, PASSWORD, roles, NOW, "setup", display_name=name.title())


def seed_cycle(session: Session, n: int = 30, cycle_id: str = CYCLE) -> None:
    """``n`` sales employees with decisions and cases in ``cycle_id``; E0002 is named EVIL."""
    grades = ["S3", "S4", "S5", "S6", "S7"]
    outcomes = ["promoted", "unchanged", "demoted", "pending"]
    session.add(
        PackVersion(
            pack_id="sales", version=SALES_VERSION, source=SALES_TEXT, active=True, loaded_at=NOW
        )
    )
    session.add(
        Cycle(
            cycle_id=cycle_id,
            track="sales",
            period_id="2026Q3",
            milestone="open",
            pack_id="sales",
            pack_version=SALES_VERSION,
            opened_at=NOW,
            updated_at=NOW,
        )
    )
    emps, decisions, cases = [], [], []
    for i in range(1, n + 1):
        eid = f"E{i:06d}"
        name = EVIL if i == 2 else f"员工{i}"
        grade = grades[i % len(grades)]
        outcome = outcomes[i % len(outcomes)]
        to_grade = {
            "promoted": f"S{int(grade[1:]) + 1}",
            "demoted": f"S{max(3, int(grade[1:]) - 1)}",
        }.get(outcome, grade)
        emps.append(
            {
                "employee_id": eid,
                "name": name,
                "track": "sales",
                "grade": grade,
                "grade_since": date(2025, 1, 1),
                "hire_date": date(2024, 1, 1),
                "org_unit": ["east", "west"][i % 2],
                "position": None,
                "active": True,
                "updated_at": NOW,
            }
        )
        decisions.append(
            {
                "cycle_id": cycle_id,
                "employee_id": eid,
                "outcome": outcome,
                "from_grade": grade,
                "to_grade": to_grade,
                "rule": f"sales.{outcome}.quarterly",
                "pack_id": "sales",
                "pack_version": SALES_VERSION,
                "probation": False,
                "review": None,
                "facts": {"score_2026Q3": "86.5", "attainment_2026Q3": "0.92"},
                "thresholds": {"score": "80"},
                "reasons_zh": [f"2026Q3 考核分 86.5 ≥ 80（{EVIL if i == 2 else 'ok'}）"],
                "reasons_en": [f"score 86.5 ≥ 80 in 2026Q3 ({EVIL if i == 2 else 'ok'})"],
                "missing": [] if outcome != "pending" else ["score_2026Q2"],
                "decided_at": NOW,
            }
        )
        cases.append(
            {
                "cycle_id": cycle_id,
                "employee_id": eid,
                "kind": "promotion",
                "state": "awaiting_test" if outcome == "promoted" else "decided",
                "flagged": "missing score_2026Q2" if outcome == "pending" else None,
                "updated_at": NOW,
            }
        )
    session.execute(insert(Employee), emps)
    session.execute(insert(Decision), decisions)
    session.execute(insert(Case), cases)
    session.add(
        StageResult(
            cycle_id=cycle_id,
            employee_id="E000001",
            stage="written_test",
            value="72",
            score=Decimal("72"),
            passed=True,
            recorded_at=NOW,
        )
    )
    record_many(
        session,
        [
            Event(
                kind="decision",
                actor="system",
                at=NOW,
                employee_id=d["employee_id"],
                cycle_id=cycle_id,
                case_id=None,
                after={"outcome": d["outcome"], "to_grade": d["to_grade"]},
            )
            for d in decisions[: min(n, 50)]
        ],
    )
